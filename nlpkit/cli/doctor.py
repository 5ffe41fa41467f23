import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor(as_json):
    """Show every resource the ladder uses (data, models, corpora, device): found or missing, and where."""
    from nlpkit.resources import doctor_report

    rows = doctor_report()
    if as_json:
        from nlpkit.io import dumps

        click.echo(dumps([row.__dict__ for row in rows]).decode())
    else:
        from rich.table import Table

        from nlpkit.cli._console import stdout_console

        table = Table(title="nlpkit doctor")
        for column in ("resource", "name", "status", "where / how to get it"):
            table.add_column(column, overflow="fold")
        for row in rows:
            status = "[green]found[/]" if row.found else "[red]missing[/]"
            table.add_row(row.kind, row.name, status, row.where)
        stdout_console(min_width=120).print(table)
    if not all(row.found for row in rows if row.kind != "corpus"):
        raise SystemExit(1)

import click

from nlpkit.cli._common import verbose


@click.group()
def corpora():
    """List, inspect, download and import corpora (imdb, sst2, ag_news, scifact, nfcorpus).

    \b
      nlpkit corpora list
      nlpkit corpora fetch imdb                       # the authors' tarball, into the cache
      nlpkit corpora fetch ag_news                    # Zhang et al.'s train.csv and test.csv
      nlpkit corpora fetch scifact                    # BEIR's scifact.zip: corpus, queries, qrels
      nlpkit corpora import imdb ~/aclImdb_v1.tar.gz  # or an aclImdb/ or JSONL directory
    """


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n else "-"


@corpora.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_(as_json):
    """Known corpora: where each may live, whether it is there, and its size on disk."""
    from nlpkit.corpora import list_corpora

    rows = list_corpora()
    if as_json:
        from nlpkit.io import dumps

        click.echo(dumps([{"name": r.name, "origin": r.origin, "path": str(r.path), "present": r.present,
                           "bytes": r.size_bytes} for r in rows]).decode())
        return
    from rich.table import Table

    from nlpkit.cli._console import stdout_console

    table = Table(title="nlpkit corpora")
    for column in ("name", "location", "present", "size", "path"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r.name, r.origin, "[green]yes[/]" if r.present else "[dim]no[/]", _size(r.size_bytes), str(r.path))
    stdout_console(min_width=100).print(table)


@corpora.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the information as JSON.")
def info(name, as_json):
    """Where NAME is (imdb, imdb-sample, sst2, ag_news), its source and citation, and its splits' record counts."""
    from nlpkit.corpora import KNOWN, corpus_info, resolve, spec
    from nlpkit.errors import ResourceMissing
    from nlpkit.resources import sample_dir

    base = name.removesuffix("-sample")
    corpus = spec(base)
    if name.endswith("-sample"):
        path = sample_dir(base)
        if not path.is_dir():
            raise ResourceMissing(f"embedded sample missing at {path}")
    else:
        source = resolve(base)
        if source.is_sample:
            raise ResourceMissing(f"the full {name} corpus is not present; get it with: nlpkit corpora fetch {name}")
        path = source.path
    details = {"name": name, "description": corpus.description, "citation": corpus.citation,
               "source": corpus.url, "md5": corpus.md5, **corpus_info(path)}
    if as_json:
        from nlpkit.io import dumps

        click.echo(dumps(details).decode())
        return
    click.echo(f"{name}: {corpus.description}")
    click.echo(f"  path:     {details['path']}")
    for item in corpus.downloads:
        click.echo(f"  source:   {item.url} (md5 {item.md5})")
    if corpus.checksums_note:
        click.echo(f"  md5 from: {corpus.checksums_note}")
    click.echo(f"  cite:     {corpus.citation}")
    if "manifest" in details:
        source = details["manifest"]["source"]
        verified = "; sha256 matches the reference corpus" if details["manifest"].get("verified") else ""
        click.echo(f"  made by:  nlpkit corpora {'fetch' if source['kind'] == 'download' else 'import'} from "
                   f"{source.get('url') or source.get('path')}{verified}")
    if details.get("manifest", {}).get("layout") == "beir":
        click.echo(f"  BEIR:     {_beir_counts(details['manifest'])}")
    for split, s in details["splits"].items():
        full = KNOWN[base].counts.get(split)
        note = "" if name.endswith("-sample") or full in (None, s["records"]) else f" (the full split has {full:,})"
        labels = ", ".join(f"{k} {v:,}" for k, v in s["labels"].items())
        click.echo(f"  {split:<6} {s['records']:>7,} records ({labels}), {s['file']} {_size(s['bytes'])}{note}")


@corpora.command()
@click.argument("name")
@click.option("--url", help="Download from this URL instead of the authors' site (a mirror; for ag_news the "
              "mirror's directory holding train.csv and test.csv).")
@click.option("--md5", help="Expected md5 of the archive (default: the official archive's; one-file corpora only).")
@click.option("--keep-archive", is_flag=True, help="Keep the downloaded tarball in the cache's downloads/.")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True, help="Resume a broken transfer this many times.")
def fetch(name, url, md5, keep_archive, retries):
    """Download NAME into the cache (NLPKIT_HOME, else ~/.cache/nlpkit) and convert it to JSONL.

    A broken download resumes where it stopped (HTTP Range), here or on the next
    run; the archive's checksum is verified before it is converted.
    """
    from nlpkit.corpora import fetch as fetch_corpus

    if verbose():
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        with Progress("[bold]download", BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("download", total=None)
            path = fetch_corpus(name, url=url, md5=md5, keep_archive=keep_archive, retries=retries,
                                progress=lambda done, total: bar.update(task, completed=done, total=total))
    else:
        path = fetch_corpus(name, url=url, md5=md5, keep_archive=keep_archive, retries=retries)
    _done(name, path)


@corpora.command("import")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True))
def import_(name, path):
    """Convert PATH into the cache: a JSONL directory, or the corpus's own files (imdb: a tarball or an
    extracted aclImdb/ directory; sst2: SST-2.zip; ag_news: a directory with train.csv and test.csv)."""
    from nlpkit.corpora import import_corpus

    _done(name, import_corpus(name, path))


def _done(name, path):
    import json

    from nlpkit.corpora import SPLITS

    manifest = json.loads((path / "corpus.json").read_text())
    if manifest.get("layout") == "beir":
        verified = " (the counts of the published set)" if manifest.get("verified") else ""
        click.echo(f"{name}: {_beir_counts(manifest)} in {path}{verified}", err=True)
        return
    splits = manifest["splits"]
    counts = ", ".join(f"{split} {splits[split]['records']:,}" for split in SPLITS if split in splits)
    verified = " (sha256 of every split matches the reference corpus)" if manifest.get("verified") else ""
    click.echo(f"{name}: {counts} records in {path}{verified}", err=True)


def _beir_counts(manifest: dict) -> str:
    counts = manifest["counts"]
    judged = ", ".join(f"{counts[k]:,} judged in {k.removeprefix('qrels/')}" for k in sorted(counts)
                       if k.startswith("qrels/"))
    return f"{counts['corpus']:,} documents, {counts['queries']:,} queries ({judged})"

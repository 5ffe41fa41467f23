"""Retrieval: chunk documents, embed them, index them (BM25 and FAISS), search them.

The public API (stable: benchmarks, the server and docs build on it). Nothing is imported
here; import from the modules named.

Documents (``nlpkit.retrieval.documents``)
    ``record_id(record) -> str``: ``id``, else BEIR's ``_id`` (a RecordError when neither).
    ``document_text(record, field="text") -> str``: the text, BEIR's ``title`` in front when not empty.

Chunking (``nlpkit.retrieval.chunk``)
    ``ChunkOptions`` (declared parameters). ``Chunker(by="tokens"|"sentences", max_tokens=MAX_PASSAGE_TOKENS, overlap=OVERLAP, count="wordpieces"|"words",
    model=None)``: ``.spans(texts) -> [[(start, end), ...], ...]``, ``.chunk(texts) -> [[passage, ...], ...]``.
    ``ChunkStage(...)``: the ``chunk`` stage; passage records ``{**parent, "id": "PARENT#K", "parent", "text",
    "start", "end"}`` (K from 0), ``parent_text[start:end] == text``.

Encoding (``nlpkit.retrieval.encoder``)
    ``Encoder(model=None, *, max_tokens=None, batch_size=BATCH_SIZE, device="auto", quantize=None|"int8",
    runtime="torch"|"onnx")``: ``.load()``, ``.encode(texts) -> np.ndarray`` (n, dim) float32 unit rows,
    input order; ``.dim`` after load; ``.describe() -> dict``. ``model=None`` is the bundled all-MiniLM-L6-v2.
    ``EncodeStage(model=None, *, field, max_tokens, batch_size, device, quantize, runtime)``: adds ``embedding``
    (a list of numbers rounded to ``PRECISION`` = 6 decimals).
    ``default_model_dir()``, ``resolve_model(model) -> Path``, ``load_tokenizer(model)``.
    ``EncoderOptions`` (model, max_tokens, device, quantize, runtime: the declared parameters, nlpkit.params),
    ``EncodeOptions``; ``INT8_FP32_LAYERS``: the modules ``quantize="int8"`` keeps in fp32.

Indexes (``nlpkit.retrieval.index``)
    ``build_index(items, directory, *, field="text", model=None, max_tokens=None, device="auto", quantize=None,
    runtime="torch", bm25=True, dense_index="flat"|"hnsw"|"ivfpq"|"none", dense_params=None, on_error="fail",
    batch_size=None, progress=None) -> (manifest, RunReport)``; `items` are ``nlpkit.io.read_items(...)`` pairs.
    ``add_to_index(items, directory, *, device="auto", on_error="fail", batch_size=None, progress=None)
    -> (manifest, RunReport)``.
    ``index_info(directory) -> dict``; ``read_index_manifest(directory) -> dict`` (checked: format, checksums).
    ``IndexBuildOptions`` (the declared parameters of ``index build``; ``.build_arguments()`` -> build_index's keywords).
    A record without ``id``/``_id``, or with an id already indexed, is a bad record (``on_error`` decides).
    ``dense_params`` keys: hnsw ``m``, ``ef_construction``, ``ef_search``; ivfpq ``nlist``, ``nprobe``, ``bits``.

Searching (``nlpkit.retrieval.search``)
    ``Searcher(directory, *, device="auto", quantize=None, runtime=None, ef_search=None, nprobe=None)``:
    ``.load(mode)``, ``.modes``,
    ``.ranked(queries, k=K, mode=DEFAULT_MODE, fusion_name=DEFAULT_FUSION, weight=DEFAULT_WEIGHT)
    -> [[(position, score), ...], ...]`` (positions index ``.store``),
    ``.search(queries, k, mode, fields=None, fusion_name, weight) -> [[{"id", "score", "rank", **fields}, ...], ...]``.
    ``SearchStage(index_dir, *, k, mode, fields, fusion_name, weight, field, device, ef_search, nprobe)``: adds ``hits``;
    ``SearchOptions`` declares its parameters. BM25 leaves out documents no query word matched (score 0).
    ``MODES = ("bm25", "dense", "hybrid")``.

Fusion (``nlpkit.retrieval.fusion``)
    ``fuse(bm25, dense, fusion="rrf"|"weighted", weight) -> ranked``; ``rrf(lists, k=RRF_K)``;
    ``weighted(bm25, dense, weight)``; constants ``DEFAULT_FUSION``, ``DEFAULT_WEIGHT`` (the dense list's weight;
    chosen on a validation split of queries), ``RRF_K = 60``, ``CANDIDATES = 100`` (the depth of each list fused).

BM25 (``nlpkit.retrieval.sparse``) and FAISS (``nlpkit.retrieval.dense``)
    ``sparse.tokenize(texts)``, ``sparse.settings()``, ``sparse.search(retriever, queries, k)``;
    ``dense.KINDS``, ``dense.search(index, vectors, k)``. Records store: ``nlpkit.retrieval.store.Store(directory)``
    (``.get(positions)``, iteration in index order).
"""

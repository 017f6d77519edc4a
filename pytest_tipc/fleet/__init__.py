"""Beyond one machine: shards (:mod:`.shard`), their manifests (:mod:`.manifest`), the merge of
their results (:mod:`.merge`) and the comparison with a previous run (:mod:`.diff`).

Every module here reads records and node ids only; none runs a step.
"""

"""Beyond one machine, the last stage: shards (:mod:`.shard`, balanced by :mod:`.durations`), their
manifests (:mod:`.manifest`) and files (:mod:`.files`), the merge of their results (:mod:`.merge`,
``tipc-merge``), the fleet's options (:mod:`.options`) and its pytest plugin (:mod:`.plugin`).

Every module here reads records and node ids only; none runs a step.
"""

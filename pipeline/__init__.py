"""The processing pipeline: one job from a recording (or a product's SKU) to share-ready clips.

- :mod:`pipeline.jobs`, :mod:`pipeline.lifecycle`, :mod:`pipeline.errors`: job rows, and one job's run
  (claim, heartbeat, progress, cancel, error classes, outcome) that every job body goes through.
- :mod:`pipeline.plan`: the stages and what comes next (pure).
- :mod:`pipeline.advance`: applying that to the job rows (the database is the source of truth).
- :mod:`pipeline.stages`: the stage bodies the Celery tasks and ``liveslice process`` run.
- :mod:`pipeline.clipmaking`, :mod:`pipeline.product`: which clips a job makes.
- :mod:`pipeline.manifest`, :mod:`pipeline.status`: what a job made, and how it is doing.
- :mod:`pipeline.local`: running a pipeline in this process, without a broker.
"""

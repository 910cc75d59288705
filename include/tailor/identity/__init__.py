"""Identity resolution: the probabilistic matcher (Splink) and its tooling.

The deterministic identity graph, the connected components and the stable
person map are dbt models (``dbt_project/models/intermediate/identity``);
this package adds what SQL is a poor fit for: a Fellegi-Sunter model that
links customer records sharing no key (:mod:`tailor.identity.matcher`;
its stored model versions, scored records and links:
:mod:`tailor.identity.store`), pairwise scoring against ground truth
(:mod:`tailor.identity.scoring`) and the ``tailor identity`` command
(:mod:`tailor.identity.cli`).
"""

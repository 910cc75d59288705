"""The product catalogue: a small category tree and a few hundred products.

The catalogue does not depend on the seed (it is the shop's, not the
customers'), so incremental slices and re-seeds always reference the same
product ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tailor.source import vocab


@dataclass(frozen=True)
class Catalog:
    """Products grouped by leaf category, contiguous so a category is a slice."""

    categories: pa.Table
    products: pa.Table
    leaf_ids: np.ndarray        # category_id per leaf
    leaf_start: np.ndarray      # first product row of each leaf
    leaf_count: np.ndarray      # products per leaf
    leaf_weight: np.ndarray     # how popular each leaf is (sums to 1)
    price: np.ndarray           # price per product row
    product_id: np.ndarray

    @property
    def size(self) -> int:
        return len(self.product_id)


def build_catalog(created_at: int) -> Catalog:
    """Deterministic catalogue; ``created_at`` stamps the rows (epoch seconds)."""
    rng = np.random.default_rng(20_240_101)
    leaves = sorted(vocab.PRODUCT_LINES)
    names: list[str] = []
    skus: list[str] = []
    cats: list[int] = []
    prices: list[float] = []
    starts, counts = [], []
    for leaf in leaves:
        nouns, (low, high) = vocab.PRODUCT_LINES[leaf]
        starts.append(len(names))
        seen: set[str] = set()
        while len(seen) < vocab.PRODUCTS_PER_LEAF:
            adj = vocab.PRODUCT_ADJECTIVES[rng.integers(len(vocab.PRODUCT_ADJECTIVES))]
            noun = nouns[rng.integers(len(nouns))]
            colour = vocab.PRODUCT_COLOURS[rng.integers(len(vocab.PRODUCT_COLOURS))]
            name = f"{adj} {noun} - {colour}"
            if name in seen:
                continue
            seen.add(name)
            names.append(name)
            cats.append(leaf)
            skus.append(f"TS-{leaf:02d}-{len(seen):03d}")
            # prices cluster at the low end and end in .99 / .95 / .00
            raw = low + (high - low) * rng.beta(1.6, 3.5)
            prices.append(float(np.floor(raw)) + float(rng.choice([0.99, 0.95, 0.0], p=[0.6, 0.25, 0.15])))
        counts.append(vocab.PRODUCTS_PER_LEAF)
    n = len(names)
    product_id = np.arange(1, n + 1, dtype=np.int64)
    ts = pa.array(np.full(n, created_at, dtype=np.int64), pa.int64()).cast(pa.timestamp("s", tz="UTC"))
    products = pa.table({
        "product_id": product_id,
        "sku": skus,
        "name": names,
        "category_id": pa.array(cats, pa.int32()),
        "price": np.round(prices, 2),
        "currency": ["EUR"] * n,
        "created_at": ts,
        "updated_at": ts,
    })
    categories = pa.table({
        "category_id": pa.array([c[0] for c in vocab.CATEGORIES], pa.int32()),
        "name": [c[1] for c in vocab.CATEGORIES],
        "parent_id": pa.array([c[2] for c in vocab.CATEGORIES], pa.int32()),
    })
    weight = rng.dirichlet(np.full(len(leaves), 4.0))
    return Catalog(
        categories=categories,
        products=products,
        leaf_ids=np.asarray(leaves),
        leaf_start=np.asarray(starts),
        leaf_count=np.asarray(counts),
        leaf_weight=weight,
        price=np.round(np.asarray(prices), 2),
        product_id=product_id,
    )


def pick_products(
    rng: np.random.Generator, catalog: Catalog, leaf: np.ndarray, lines: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct products per basket: ``lines[i]`` neighbours in leaf ``leaf[i]``.

    Returns (basket index per line, product row per line). Popular products
    (low offsets) are chosen more often: offset = count * u**2.
    """
    basket = np.repeat(np.arange(len(leaf)), lines)
    first = np.cumsum(lines) - lines
    line_no = np.arange(len(basket)) - first[basket]
    count = catalog.leaf_count[leaf]
    offset = (count * rng.random(len(leaf)) ** 2).astype(np.int64)
    row = catalog.leaf_start[leaf][basket] + (offset[basket] + line_no) % count[basket]
    return basket, row

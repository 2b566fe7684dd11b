"""Where each node sits on screen: computed once per network, never per day.

People are placed first, from their peer ties alone; using friends are then placed around
them with the people held still. The peer network does not depend on the using-friend lever
(it comes from its own random stream), so moving that lever keeps every person where they
were and only the using friends move: students compare the same picture. Layouts are cached
by the network's edges, so a reset that keeps the network (coping, AVE, group levers) costs
nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import networkx as nx
import numpy as np

MARGIN = 0.04
CACHE_SIZE = 16
_people_cache: dict[str, np.ndarray] = {}
_layout_cache: dict[str, Layout] = {}


@dataclass(frozen=True)
class Layout:
    """Screen positions in [0, 1] x [0, 1] and the edges to draw between them."""

    people: np.ndarray  # (n, 2)
    friends: np.ndarray  # (m, 2)
    peer_edges: np.ndarray  # (E, 2) person index pairs
    using_edges: np.ndarray  # (F, 2) person index, using-friend index


def _key(*arrays: np.ndarray) -> str:
    digest = hashlib.sha1()
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _normalise(points: np.ndarray) -> np.ndarray:
    """Stretch positions to fill the unit square, with a small margin."""
    if len(points) == 0:
        return points
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return MARGIN + (1 - 2 * MARGIN) * (points - low) / span


def _remember(cache: dict, key: str, value: object) -> None:
    if len(cache) >= CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value


def compute(
    n_people: int, peer_edges: np.ndarray, using_edges: np.ndarray, n_friends: int, seed: int
) -> Layout:
    """Spring layout of people on their peer ties, then of using friends around them."""
    people_key = _key(np.array([n_people, seed]), peer_edges)
    key = _key(np.array([n_friends]), using_edges) + people_key
    if key in _layout_cache:
        return _layout_cache[key]
    peers: nx.Graph = nx.Graph()
    peers.add_nodes_from(range(n_people))
    peers.add_edges_from(map(tuple, peer_edges.tolist()))
    people = _people_cache.get(people_key)
    if people is None:
        raw = nx.spring_layout(peers, seed=seed, iterations=80)
        people = _normalise(np.array([raw[i] for i in range(n_people)]))
        _remember(_people_cache, people_key, people)
    friends = np.zeros((n_friends, 2))
    if n_friends:
        whole = peers.copy()
        whole.add_nodes_from(range(n_people, n_people + n_friends))
        whole.add_edges_from((p, n_people + f) for p, f in using_edges.tolist())
        # people stay where they are; k is the spring length for the unit square they fill
        raw = nx.spring_layout(
            whole,
            pos={i: people[i] for i in range(n_people)},
            fixed=list(range(n_people)),
            seed=seed,
            iterations=40,
            k=0.6 / np.sqrt(n_people + n_friends),
        )
        friends = np.clip(
            np.array([raw[n_people + f] for f in range(n_friends)]), MARGIN / 2, 1 - MARGIN / 2
        )
    layout = Layout(people=people, friends=friends, peer_edges=peer_edges, using_edges=using_edges)
    _remember(_layout_cache, key, layout)
    return layout


def from_graph(graph: nx.Graph, seed: int) -> Layout:
    """The layout of a model's network (`model.network.to_networkx()`, nodes carry `role`)."""
    roles = dict(graph.nodes(data="role"))
    people = sorted(v for v, r in roles.items() if r == "recovering")
    friends = sorted(v for v, r in roles.items() if r == "using")
    n = len(people)
    first_friend = min(friends) if friends else n
    peer, using = [], []
    for a, b in graph.edges():
        ra, rb = roles[a], roles[b]
        if ra == rb == "recovering":
            peer.append((min(a, b), max(a, b)))
        elif {ra, rb} == {"recovering", "using"}:
            person, friend = (a, b) if ra == "recovering" else (b, a)
            using.append((person, friend - first_friend))
    peer_edges = np.array(sorted(peer), dtype=np.int64).reshape(-1, 2)
    using_edges = np.array(sorted(using), dtype=np.int64).reshape(-1, 2)
    return compute(n, peer_edges, using_edges, len(friends), seed)

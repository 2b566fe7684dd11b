"""The social graph: recovering peers, active using friends and community/family ties.

The daily step never queries a graph. What the rules need is kept as arrays: each
person's count of using-friend, supportive and stigmatising ties, and the peer
adjacency as a sparse matrix (relapsed peers become using contacts). A networkx
graph with node roles is built on request, for export, the agent view and the app.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
from scipy import sparse, stats

from kds_sim.errors import NetworkFileError
from kds_sim.model import threads
from kds_sim.model.parameters import Network

ROLES = ("recovering", "using", "supportive", "stigmatising")


@dataclass
class SocialNetwork:
    peers: sparse.csr_matrix  # recovering x recovering adjacency (0/1)
    using_ties: np.ndarray  # per recovering person: ties to active users
    supportive_ties: np.ndarray
    stigmatising_ties: np.ndarray
    edges_at_start: np.ndarray  # (2, E): recovering index, using-friend index
    n_using_friends: int
    lost: np.ndarray = field(init=False)  # per recovering person: using ties ended so far

    def __post_init__(self) -> None:
        self.lost = np.zeros(self.size, dtype=np.int64)

    @property
    def size(self) -> int:
        return self.peers.shape[0]

    @property
    def using_edges(self) -> np.ndarray:
        """The ties to active users now: each person's first `lost` listed ties have ended."""
        owners = self.edges_at_start[0]
        order = np.argsort(owners, kind="stable")
        ranked = owners[order]
        rank = np.empty(len(owners), dtype=np.int64)
        rank[order] = np.arange(len(owners)) - np.searchsorted(ranked, ranked)
        return self.edges_at_start[:, rank >= self.lost[owners]]

    def drop_using_ties(self, people: np.ndarray) -> None:
        """Each of `people` (distinct) loses one tie to an active user, their first listed one
        (counted here and applied when `using_edges` is read: the daily step stays cheap)."""
        self.lost[people] += 1

    def relapsed_peers(self, relapsed: np.ndarray) -> np.ndarray:
        """How many of each person's peers are currently using (one sparse mat-vec)."""
        return relapsed_peers(self.peers, relapsed)

    def to_networkx(self) -> nx.Graph:
        """The whole graph with a `role` on every node (recovering nodes are 0..n-1)."""
        graph: nx.Graph = nx.Graph()
        n = self.size
        graph.add_nodes_from(range(n), role="recovering")
        rows, cols = sparse.triu(self.peers, k=1).nonzero()
        graph.add_edges_from(zip(rows.tolist(), cols.tolist(), strict=True))
        graph.add_nodes_from(range(n, n + self.n_using_friends), role="using")
        graph.add_edges_from(
            zip(self.using_edges[0].tolist(), (self.using_edges[1] + n).tolist(), strict=True)
        )
        next_id = n + self.n_using_friends
        for role, counts in (
            ("supportive", self.supportive_ties),
            ("stigmatising", self.stigmatising_ties),
        ):
            owners = np.repeat(np.arange(n), counts)
            ids = np.arange(next_id, next_id + len(owners))
            graph.add_nodes_from(ids.tolist(), role=role)
            graph.add_edges_from(zip(owners.tolist(), ids.tolist(), strict=True))
            next_id += len(owners)
        return graph


def relapsed_peers(peers: sparse.csr_matrix, relapsed: np.ndarray) -> np.ndarray:
    """Relapsed peers of each person: `relapsed` is [person] or [row, person] (bool), `peers`
    the adjacency over row * n + person (block-diagonal for a batch)."""
    return (peers @ relapsed.ravel().astype(np.float64)).reshape(relapsed.shape)


def watts_strogatz(n: int, k: int, p: float, rng: np.random.Generator) -> sparse.csr_matrix:
    """Small-world ring lattice with rewiring, built as arrays (fast at 10^5 to 10^6 people)."""
    if n < 2 or k == 0:
        return sparse.csr_matrix((n, n))
    k = min(k, n - 1 - (n - 1) % 2)
    source = np.repeat(np.arange(n), k // 2)
    target = (source + np.tile(np.arange(1, k // 2 + 1), n)) % n
    rewire = rng.random(len(source)) < p
    new_target = rng.integers(0, n, size=len(source))
    target = np.where(rewire & (new_target != source), new_target, target)
    # both directions of every edge, once each, in row-major order: the canonical CSR of
    # ((A + A.T) > 0) built without scipy's general sparse algebra
    edge = np.unique(np.concatenate([source * n + target, target * n + source]))
    rows, cols = np.divmod(edge, n)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sparse.csr_matrix(
        (np.ones(len(edge)), cols.astype(np.int32), indptr), shape=(n, n), copy=False
    )


def generate(settings: Network, n: int, rng: np.random.Generator) -> SocialNetwork:
    """Draw a network for n recovering people from the scenario's settings."""
    peers = watts_strogatz(n, settings.peer_degree, settings.peer_rewiring, rng)
    u = rng.random((3, n))
    mean, size = settings.using_ties_mean, settings.using_ties_dispersion
    using = np.zeros(n, dtype=np.int64)
    community = np.zeros(n, dtype=np.int64)
    stigmatising = np.zeros(n, dtype=np.int64)

    def tile(r0: int, r1: int, p0: int, p1: int) -> None:
        """The ties of people p0:p1 (quantiles person by person: any split, same values)."""
        at = slice(p0, p1)
        if mean > 0:
            using[at] = stats.nbinom.ppf(u[0, at], size, size / (size + mean))
        if settings.community_ties_mean > 0:
            community[at] = stats.poisson.ppf(u[1, at], settings.community_ties_mean)
        stigmatising[at] = stats.binom.ppf(u[2, at], community[at], settings.stigmatising_share)

    threads.run(tile, threads.tiles(1, n))
    pool = max(1, int(np.ceil(n * mean / settings.people_per_using_friend)))
    owners = np.repeat(np.arange(n), using)
    friends = rng.integers(0, pool, size=len(owners))
    return SocialNetwork(
        peers=peers,
        using_ties=using,
        supportive_ties=community - stigmatising,
        stigmatising_ties=stigmatising,
        edges_at_start=np.vstack([owners, friends]),
        n_using_friends=pool,
    )


def _read_roles(path: Path) -> dict[str, str]:
    roles: dict[str, str] = {}
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"id", "role"} <= set(reader.fieldnames):
            raise NetworkFileError(f"{path}: needs a header with columns id,role")
        for line, row in enumerate(reader, start=2):
            if row["role"] not in ROLES:
                raise NetworkFileError(
                    f"{path}: line {line}: role {row['role']!r} is not one of {', '.join(ROLES)}"
                )
            roles[row["id"]] = row["role"]
    return roles


def _open_csv(path: Path) -> io.StringIO:
    """A CSV file as text: UTF-8, a leading BOM dropped; anything else is a one-line error."""
    try:
        return io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")
    except UnicodeDecodeError as err:
        raise NetworkFileError(
            f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8"
        ) from None
    except OSError as err:
        raise NetworkFileError(f"{path}: cannot read: {err.strerror}") from None


def _read_graph(edges_file: str, nodes_file: str | None) -> nx.Graph:
    path = Path(edges_file)
    if path.suffix.lower() == ".graphml":
        try:
            graph = nx.read_graphml(path)
        except Exception as err:  # ElementTree, networkx and decoding errors alike
            raise NetworkFileError(f"{path}: not valid GraphML: {err}") from None
        graph = nx.relabel_nodes(graph, {v: str(v) for v in graph})
        if nodes_file:
            nx.set_node_attributes(graph, _read_roles(Path(nodes_file)), "role")
        return graph
    roles = _read_roles(Path(nodes_file)) if nodes_file else {}
    graph = nx.Graph()
    for node, role in roles.items():
        graph.add_node(node, role=role)
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"source", "target"} <= set(reader.fieldnames):
            raise NetworkFileError(f"{path}: needs a header with columns source,target")
        for line, row in enumerate(reader, start=2):
            for end in (row["source"], row["target"]):
                if end not in roles:
                    raise NetworkFileError(
                        f"{path}: line {line}: node {end!r} is not in {nodes_file}"
                    )
            graph.add_edge(row["source"], row["target"])
    return graph


def from_file(settings: Network) -> SocialNetwork:
    """A network from a user's edge list (CSV + nodes CSV, or GraphML with a `role` attribute)."""
    assert settings.edges_file is not None
    graph = _read_graph(settings.edges_file, settings.nodes_file)
    for node, role in graph.nodes(data="role"):
        if role not in ROLES:
            raise NetworkFileError(
                f"{settings.edges_file}: node {node!r} has role {role!r}; "
                f"every node needs a role in {', '.join(ROLES)}"
            )
    recovering = [v for v, r in graph.nodes(data="role") if r == "recovering"]
    if len(recovering) < 2:
        raise NetworkFileError(f"{settings.edges_file}: needs at least 2 recovering nodes")
    index = {v: i for i, v in enumerate(recovering)}
    using_ids = {v: i for i, v in enumerate(v for v, r in graph.nodes(data="role") if r == "using")}
    n = len(recovering)
    rows, cols, counts = [], [], {role: np.zeros(n, dtype=np.int64) for role in ROLES}
    using_edges = []
    for a, b in graph.edges():
        ra, rb = graph.nodes[a]["role"], graph.nodes[b]["role"]
        if ra == rb == "recovering":
            rows += [index[a], index[b]]
            cols += [index[b], index[a]]
            continue
        for me, other, role in ((a, b, rb), (b, a, ra)):
            if graph.nodes[me]["role"] == "recovering" and role != "recovering":
                counts[role][index[me]] += 1
                if role == "using":
                    using_edges.append((index[me], using_ids[other]))
    peers = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    peers.data[:] = 1.0
    edges = np.array(using_edges, dtype=np.int64).reshape(-1, 2).T
    return SocialNetwork(
        peers=peers,
        using_ties=counts["using"],
        supportive_ties=counts["supportive"],
        stigmatising_ties=counts["stigmatising"],
        edges_at_start=edges,
        n_using_friends=max(1, len(using_ids)),
    )


def build(settings: Network, n: int, rng: np.random.Generator) -> SocialNetwork:
    """The scenario's network: from its files if it names any, else generated."""
    return from_file(settings) if settings.edges_file else generate(settings, n, rng)

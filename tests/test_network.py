"""User network files: CSV edges + nodes or GraphML with roles, relative paths, and errors that
name the file, the row and the problem."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from conftest import write_toml

from kds_sim.io.scenario_files import ScenarioError, load_scenario
from kds_sim.model.kds_model import KDSModel
from kds_sim.model.network import NetworkFileError, from_file
from kds_sim.model.parameters import Network

# user network files ------------------------------------------------------------------------------
NODES = """id,role
r1,recovering
r2,recovering
r3,recovering
r4,recovering
r5,recovering
u1,using
u2,using
s1,supportive
t1,stigmatising
"""
EDGES = """source,target
r1,r2
r2,r3
r3,r4
r4,r5
r5,r1
r1,u1
r2,u1
r3,u2
u2,r3
r1,s1
r4,t1
"""


def network_scenario(tmp_path, nodes=NODES, edges=EDGES, extra=""):
    write_toml(tmp_path / "data" / "nodes.csv", nodes)
    write_toml(tmp_path / "data" / "edges.csv", edges)
    return write_toml(
        tmp_path / "net.toml",
        (
            "[run]\nhorizon_days = 30\nreplicates = 2\n[population]\nsize = 300\n"
            '[network]\nedges_file = "data/edges.csv"\nnodes_file = "data/nodes.csv"\n' + extra
        ),
    )


def test_network_files_load_and_run(tmp_path):
    scenario = load_scenario(network_scenario(tmp_path))
    assert scenario.network.edges_file == str((tmp_path / "data" / "edges.csv").resolve())
    model = KDSModel(scenario, 1).run()
    net = model.network
    assert model.people.size == 5 == net.size  # the file decides the population
    assert net.using_ties.tolist() == [1, 1, 1, 0, 0]  # r3-u2 given twice is one tie
    assert net.supportive_ties.tolist() == [1, 0, 0, 0, 0]
    assert net.stigmatising_ties.tolist() == [0, 0, 0, 1, 0]
    assert net.n_using_friends == 2
    ring = nx.to_numpy_array(nx.cycle_graph(5))
    np.testing.assert_array_equal(net.peers.toarray(), ring)
    people = model.person_table()
    assert len(people) == 5 and people["using_ties"].tolist() == [1, 1, 1, 0, 0]
    roles = nx.get_node_attributes(net.to_networkx(), "role")
    assert sorted(roles.values()).count("recovering") == 5


def test_graphml_network_file(tmp_path):
    graph = nx.Graph()
    for i in range(4):
        graph.add_node(f"r{i}", role="recovering")
    graph.add_node("u", role="using")
    graph.add_edges_from([("r0", "r1"), ("r1", "r2"), ("r2", "r3"), ("r0", "u")])
    nx.write_graphml(graph, tmp_path / "g.graphml")
    path = write_toml(tmp_path / "g.toml", '[network]\nedges_file = "g.graphml"\n')
    model = KDSModel(load_scenario(path), 0)
    assert model.people.size == 4
    assert model.network.using_ties.tolist() == [1, 0, 0, 0]


def test_network_file_bad_role(tmp_path):
    nodes = NODES.replace("u2,using", "u2,dealer")
    scenario = load_scenario(network_scenario(tmp_path, nodes=nodes))
    with pytest.raises(NetworkFileError) as info:
        KDSModel(scenario, 0)
    message = str(info.value)
    assert "nodes.csv" in message
    assert "line 8" in message  # the header is line 1
    assert "'dealer'" in message
    for role in ("recovering", "using", "supportive", "stigmatising"):
        assert role in message


def test_network_file_edge_to_unknown_node(tmp_path):
    scenario = load_scenario(network_scenario(tmp_path, edges=EDGES + "r1,x9\n"))
    with pytest.raises(NetworkFileError, match=r"edges\.csv: line 13: node 'x9'"):
        from_file(scenario.network)


def test_network_file_bad_header(tmp_path):
    scenario = load_scenario(network_scenario(tmp_path, edges="from,to\nr1,r2\n"))
    with pytest.raises(NetworkFileError, match="source,target"):
        from_file(scenario.network)


def test_network_file_too_few_recovering(tmp_path):
    nodes = "id,role\nr1,recovering\nu1,using\n"
    scenario = load_scenario(
        network_scenario(tmp_path, nodes=nodes, edges="source,target\nr1,u1\n")
    )
    with pytest.raises(NetworkFileError, match="at least 2 recovering"):
        from_file(scenario.network)


def test_network_file_missing(tmp_path):
    path = write_toml(
        tmp_path / "s.toml", '[network]\nedges_file = "nope.csv"\nnodes_file = "nodes.csv"\n'
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path.resolve()) in message and "network.edges_file" in message
    assert "'nope.csv'" in message and "not found" in message


def test_csv_edges_need_a_nodes_file(tmp_path):
    write_toml(tmp_path / "edges.csv", EDGES)
    path = write_toml(tmp_path / "s.toml", '[network]\nedges_file = "edges.csv"\n')
    with pytest.raises(ScenarioError, match="nodes_file"):
        load_scenario(path)


def test_network_files_relative_to_the_file_that_names_them(tmp_path):
    network_scenario(tmp_path / "base")
    child = write_toml(
        tmp_path / "elsewhere" / "child.toml",
        'extends = "../base/net.toml"\n[run]\nhorizon_days = 10\n',
    )
    scenario = load_scenario(child)
    assert scenario.network.nodes_file == str((tmp_path / "base" / "data" / "nodes.csv").resolve())
    assert from_file(Network(**scenario.network.model_dump())).size == 5

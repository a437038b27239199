"""Networks as networkx graphs: the file format, the checker, the torch compiler, ENAS spaces."""

from arts.graph.check import typecheck as typecheck
from arts.graph.fileformat import graph_from_dict as graph_from_dict, load_graph as load_graph, save_graph as save_graph
from arts.graph.graph import GraphBuilder as GraphBuilder
from arts.graph.report import Diagnostic as Diagnostic, Report as Report

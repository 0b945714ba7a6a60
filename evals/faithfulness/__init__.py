"""Faithfulness evaluation: a labelled set of quotes against real posts (build_labels.py, cases.py), scored for
Concord's checker (agent/report/faithfulness.py) next to a naive exact-substring baseline (evaluate.py), and a
count of quotes dropped in real generated reports (reports.py)."""

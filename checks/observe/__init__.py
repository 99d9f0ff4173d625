"""Watching the nodes: one sample per node (the SQL by name), LSN arithmetic, the cluster's assessment, timelines and divergence."""

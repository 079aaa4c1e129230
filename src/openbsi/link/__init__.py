"""link stage of the OpenBSI loop."""

"""patient stage of the OpenBSI loop."""

"""report stage of the OpenBSI loop."""

"""store stage of the OpenBSI loop."""

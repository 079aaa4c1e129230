"""runtime stage of the OpenBSI loop."""

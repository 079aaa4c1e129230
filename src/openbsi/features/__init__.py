"""features stage of the OpenBSI loop."""

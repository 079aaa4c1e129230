"""Graft quality control for iPSC-derived spinal neural progenitors.

Patch-clamp (ABF, NWB icephys) and flow-cytometry (FCS) analysis, lot manifests, versioned
release specifications with signed certificates, trends across lots, and the potency file a
released lot hands to the progenitor therapy. Imports nothing from runtime, decoding or patient.
"""

"""Helpers the tests share: tiny configs, the stand-in model script, conformance readers, fake repos."""

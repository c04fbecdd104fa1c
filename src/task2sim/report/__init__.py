"""Tables and figures regenerated from pipeline outputs."""

"""History, list and count questions answered from the work-order records: recognising the
question (``question``), and finding every matching work order (``finder``)."""

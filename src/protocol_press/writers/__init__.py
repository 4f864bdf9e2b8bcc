"""The writers: one module per output format, siblings behind one calling shape."""

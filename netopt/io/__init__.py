"""Reading and writing: input tables, GIS layers, Excel reports, OR-Library files."""

"""Reading a drop folder and loading it into the raw tables of the warehouse."""

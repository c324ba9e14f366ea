"""Transform: run the dbt project (one dbt build per transform) and read its results back."""

"""dbt: running the project standalone and from Airflow (Cosmos)."""

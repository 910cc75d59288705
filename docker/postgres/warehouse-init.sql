-- The warehouse server also holds Airflow's metadata database.
create database airflow;

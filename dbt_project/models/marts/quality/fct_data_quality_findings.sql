{#
    One row per finding of the latest mart gate run (ingestion/gates/mart_gate.py): the gate validates the
    marts after dbt, so it cannot be a dbt model itself; it rewrites its own table
    quality.data_quality_findings (created with the raw DDL, ingestion/load/warehouse.py) and this view
    puts it in `marts`, current as soon as the gate has run, without another dbt run. Publish copies
    it into the BI file as a table like every other mart.

    The source is named without its database (include(database=false)): the publisher attaches the
    warehouse under another name, and a view bound to the file's own catalog name would not resolve.
#}
{{ config(materialized='view') }}

with

findings as (

    select * from {{ source('quality', 'data_quality_findings').include(database=false) }}

)

select * from findings

{#
    Post-hook of the incremental account marts: rows keep the registry's current department and
    the organisation's current population even though a nightly run only rewrites recent days.
    Updates only the rows whose value differs (none on most nights). The accounts whose department
    moved are found first on the model's distinct (platform, account_id, department), a small
    aggregate, so the update joins an empty set on most nights instead of probing every row of the
    model with every account (that join grew with the history: issue 21).

    Args:
        relation: the model ({{ this }}).
        per_1000: whether the model has followers_per_1000_residents (from followers).
#}
{% macro refresh_account_attributes(relation, per_1000=true) -%}
update {{ relation }} as fact
set department = moved_accounts.department
from (
    select distinct model_accounts.platform, model_accounts.account_id, registry.department
    from (select distinct platform, account_id, department from {{ relation }}) as model_accounts
    left join {{ ref('stg_registry__accounts') }} as registry
        on model_accounts.platform = registry.platform
        and model_accounts.account_id = registry.account_id
    where model_accounts.department is distinct from registry.department
) as moved_accounts
where fact.platform = moved_accounts.platform
    and fact.account_id = moved_accounts.account_id
    and fact.department is distinct from moved_accounts.department;
{%- if per_1000 %}
update {{ relation }}
set followers_per_1000_residents = followers * 1000 / nullif(
    (select max(population) from {{ ref('stg_registry__organisation') }}), 0
)
where followers_per_1000_residents is distinct from followers * 1000 / nullif(
    (select max(population) from {{ ref('stg_registry__organisation') }}), 0
);
{%- endif %}
{%- endmacro %}

{#
    Post-hook of fct_audience_demographics: a newer snapshot day supersedes the account's earlier
    ones, so their is_latest_snapshot turns false (rows an incremental run did not rewrite).
#}
{% macro clear_superseded_snapshots(relation) -%}
update {{ relation }} as cell
set is_latest_snapshot = false
from (
    select platform, account_id, audience_type, max(metric_date) as latest_metric_date
    from {{ relation }}
    group by platform, account_id, audience_type
) as latest
where cell.platform = latest.platform
    and cell.account_id = latest.account_id
    and cell.audience_type = latest.audience_type
    and cell.is_latest_snapshot
    and cell.metric_date < latest.latest_metric_date
{%- endmacro %}

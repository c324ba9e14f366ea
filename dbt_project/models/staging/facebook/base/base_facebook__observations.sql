{# One row per facebook observation key: the latest observation, the first value delivered, how
   often the key was fetched and restated (macro deduplicate_observations). Incremental, configured
   for every staging/<platform>/base/ folder at once in dbt_project.yml. #}
{{ deduplicate_observations(source('facebook', 'observations'), source('registry', 'loads'), 'facebook') }}

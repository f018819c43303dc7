"""Quality gates with Great Expectations: raw suites on every drop (row faults to the
quarantine, file faults stop the run before dbt), mart suites before anything is sent
(a failure holds the day), Data Docs for every run."""

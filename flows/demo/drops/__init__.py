"""Synthetic daily drops of a retail bank, of any size, byte-for-byte reproducible.

The model of the synthetic bank
-------------------------------
*Securities.* The universe holds the 40 DAX members (real names, real ISINs) and
generated German, European and US companies. Research covers ("rates") all DAX members
and most of the rest; about a fifth of the held securities are not covered. The covered
universe grows with the bank: about 3,000 ISINs at 1,000,000 clients, about 100 at 2,000
(``covered_isin_count``). Every security has a price in EUR that follows a small random
walk from business day to business day, with a jump after a rating change. Popularity is
Zipf-like: a popularity rank (DAX members first) gives each security a weight
``1 / (rank + q) ** s``, so that a few DAX names are held by a large share of the clients
and most securities by few.

*Research.* Each covered ISIN has a rating on the five-step scale of SPEC.md. On every
business day about 1.25% of the covered ISINs change (a Poisson number, so a small
universe has days without and days with several changes), mostly by one step, sometimes
by two, drifting back toward *neutral*; a few ratings are only reaffirmed (same rating
again, no change). Labels come in German and English, with the synonyms of the scale and
occasional case and whitespace variants. A publication is timed in the morning
(06:00-09:00) and usually carries a target price in the security's currency (EUR, USD for
US issuers). The first drop holds an initial rating for every covered ISIN; with a rating
history, the first drop holds the history of the business days before it instead (all
ISINs initiated on the first of them, then the changes of each day) followed by the first
drop day's own changes.

*Clients and advisors.* Clients have German or (about a sixth) English names; language
``de`` about 80%, ``en`` about 20%. Email addresses are built from the names on reserved
example domains; about 1% are malformed and 0.5% are missing; about 8% of the clients have
opted out of notifications. One advisor serves about 250 clients; branches of 5-10
advisors carry German city names. Every first drop of an ISO week (Monday, or the day
after a holiday Monday) carries a fresh full extract of clients and advisors, with a few
new opt-outs and changed addresses.

*Positions.* A client holds about 10 securities (lognormal: some hold 1, some 30 and
more), drawn by popularity without repeats. A position is a whole number of shares
(savings-plan positions have three decimals). The holdings file of a drop is the full
snapshot at the start of that business day, valued at that day's price.

*Alerts and follow-up.* An alert is a client holding (on the day's snapshot) a security
whose rating was upgraded or downgraded that day. Every advisor has a hidden diligence
profile: *diligent* advisors contact most alerted clients within 0-2 business days,
*partial* ones about half, *negligent* ones hardly any. A follow-up is a CRM activity of
the client's own advisor that names the ISIN, written to the drop of the day it happens.
Alerted clients trade the security within 0-6 business days (at most 10 calendar days):
sell after a downgrade, buy after an upgrade, much more often when their advisor called.
Besides, advisors log background activities (notes, calls, ...), clients trade without
an alert, open new positions and close old ones. Trades of a day show in the next
snapshot.

*Suppressions.* On about one drop in five a few clients object to email or bounce.

Reproducibility: every random number comes from ``numpy.random.default_rng`` seeded with
``seed`` and a fixed stream number (one stream per part of the model and per drop day),
so a run with more days repeats the drops of a shorter run with the same arguments, and
nothing depends on the wall clock or on set or dict ordering. Sampling is vectorised with
numpy; DuckDB formats and writes the files in a fixed row order.

Modules: ``master_data`` (securities, clients, advisors), ``ratings``, ``holdings``
(prices, positions, trades), ``crm`` (follow-ups, activities, consent changes), ``bank``
(the state they advance), ``writers`` (the files), ``generate`` (the order of the steps,
``generate_drops``); ``names`` holds the reference data they draw from.
"""

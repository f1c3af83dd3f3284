#!/usr/bin/env bash
# Regenerate the translation catalogs: extract -> update -> compile.
#
# Usage (from anywhere; paths are resolved against the repository root):
#     scripts/i18n.sh            # every language that has a catalog in casemgmt/translations/ (at least es)
#     scripts/i18n.sh es fr      # only these languages; a missing catalog is created
#
# What it does:
#   1. pybabel extract: scans casemgmt/ with casemgmt/babel.cfg (Python and Jinja templates) and writes
#      casemgmt/translations/messages.pot, keeping source locations and "TRANSLATORS:" comments.
#   2. pybabel update: merges the template into casemgmt/translations/<lang>/LC_MESSAGES/messages.po.
#      New messages arrive with an empty msgstr; changed ones may arrive marked "#, fuzzy".
#   3. pybabel compile: writes messages.mo next to each .po (fuzzy entries are left out).
#      The .mo files are committed, so the application works right after `pip install`.
#
# After running it, translate every empty or fuzzy entry in the .po files (remove the "#, fuzzy" line once the
# translation is right), then run this script again so that the .mo matches. tests/i18n/test_translations.py
# fails while any message is untranslated or fuzzy, or while a .mo is older than its .po.
#
# Keywords: plural functions need their ":1,2" spec, otherwise the plural form is lost. _gettext is the
# helper in casemgmt/accounts/operations.py. tests/i18n reads the -k options below, so keep one per line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CFG=casemgmt/babel.cfg
DIR=casemgmt/translations
POT="$DIR/messages.pot"

pybabel extract \
    --mapping-file="$CFG" \
    --keyword=_ \
    --keyword=gettext \
    --keyword=ngettext:1,2 \
    --keyword=lazy_gettext \
    --keyword=_l:1 \
    --keyword=lazy_ngettext:1,2 \
    --keyword=_gettext \
    --keyword=pgettext:1c,2 \
    --keyword=lazy_pgettext:1c,2 \
    --add-comments=TRANSLATORS: \
    --project=casemgmt \
    --copyright-holder="casemgmt contributors" \
    --width=120 \
    --output-file="$POT" \
    casemgmt

if [ "$#" -gt 0 ]; then
    LOCALES=("$@")
else
    LOCALES=(es)
    for d in "$DIR"/*/LC_MESSAGES; do
        [ -d "$d" ] || continue
        lang="$(basename "$(dirname "$d")")"
        [ "$lang" = es ] || LOCALES+=("$lang")
    done
fi

for lang in "${LOCALES[@]}"; do
    pybabel update --input-file="$POT" --output-dir="$DIR" --locale="$lang" --init-missing --previous --width=120
done

for lang in "${LOCALES[@]}"; do
    pybabel compile --directory="$DIR" --locale="$lang" --statistics
done

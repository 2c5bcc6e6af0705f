"""Sharing: permanent snippet links, forks, embeds, oEmbed and teachers'
collections.

    content.py      what a snippet holds, its checks and its id
    store.py        saving snippets (rate-limited) and finding them again
    pages.py        /s/<id> and /embed/<id>, and the JSON API that shares
    oembed.py       /oembed and the OpenGraph preview
    collections.py  teachers' collections and the students' walk-through
    accounts.py     sign-in and the optional sign-up
"""

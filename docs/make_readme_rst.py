"""Write kam_management/README.rst from the fragments of kam_management/readme/.

The layout is the one OCA's oca-gen-addon-readme produces; the fragments are written in the
subset of Markdown that is also valid reStructuredText (lists, *emphasis*, **strong**), plus
`code` and <links>, which are converted here.  Run from the repository root:
``python3 docs/make_readme_rst.py``.
"""

import re
from pathlib import Path

ADDON = Path(__file__).resolve().parents[1] / "kam_management"
REPO = "https://github.com/kam-management/kam_management"

HEADER = """\
======================
Key Account Management
======================

..
   Made by docs/make_readme_rst.py from the fragments of readme/ (DESCRIPTION, CONFIGURE,
   USAGE, ROADMAP, CONTRIBUTORS), in the layout of the READMEs oca-gen-addon-readme
   generates: edit the fragments, then run the script.

.. |badge1| image:: https://img.shields.io/badge/license-LGPL--3-blue.png
    :target: http://www.gnu.org/licenses/lgpl-3.0-standalone.html
    :alt: License: LGPL-3
.. |badge2| image:: https://img.shields.io/badge/odoo-18.0-875A7B.png
    :alt: Odoo 18.0 Community

|badge1| |badge2|

"""

SECTIONS = (
    ("CONFIGURE", "Configuration"),
    ("USAGE", "Usage"),
    ("ROADMAP", "Known issues / Roadmap"),
)

FOOTER = f"""\
Bug Tracker
===========

Bugs are tracked on `GitHub Issues <{REPO}/issues>`_.
In case of trouble, please check there if your issue has already been reported.

Credits
=======

Authors
-------

* kam_management contributors

Contributors
------------

"""


def to_rst(text):
    text = re.sub(r"(?<!`)`([^`\n]+)`(?!`)", r"``\1``", text)
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    return text.strip() + "\n"


def fragment(name):
    return to_rst((ADDON / "readme" / f"{name}.md").read_text(encoding="utf-8"))


def build():
    parts = [HEADER, fragment("DESCRIPTION"), "\n**Table of contents**\n\n.. contents::\n   :local:\n\n"]
    for name, title in SECTIONS:
        parts += [f"{title}\n{'=' * len(title)}\n\n", fragment(name), "\n"]
    parts += [FOOTER, fragment("CONTRIBUTORS")]
    return "".join(parts)


if __name__ == "__main__":
    (ADDON / "README.rst").write_text(build(), encoding="utf-8")

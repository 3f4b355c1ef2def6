"""Chinese word segmentation for the search index and for queries (jieba + our user dictionary).

Chinese has no spaces, so a document is stored as its words separated by spaces; both databases
then index those words as they are (PostgreSQL's ``simple`` text-search configuration, SQLite's
FTS5 ``unicode61`` tokenizer: both split on spaces and punctuation and fold case, nothing else).

jieba builds its prefix dictionary on first use (about a second, or a few hundred milliseconds
from its cache file), so one tokenizer is made lazily per process and shared. Its cache file goes
to the system's temporary directory (``JIEBA_CACHE_DIR`` overrides it), never next to the package:
a read-only deployment still starts, it only rebuilds the dictionary in memory.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import jieba

USER_DICTIONARY = Path(__file__).with_name("userdict.txt")

# Runs of letters and digits: what both databases' tokenizers keep as one token.
_WORD = re.compile(r"[^\W_]+")
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")

# Words that say nothing about what a problem is about; left out of queries (never of documents,
# so a search for one of them alone still finds it).
STOPWORDS = frozenset(
    "的 了 和 与 及 或 在 是 有 对 为 等 将 把 被 也 都 并 而 但 就 又 其 该 此 这 那 之 于 以 向 从 到 由 "
    "我们 我司 本司 公司 企业 有限公司 有限责任公司 反映 问题 希望 请求 要求 帮助 协调 解决 "
    "目前 现在 一直 相关 情况 需要 能够 尽快 进行 存在 导致 影响 造成 方面 工作".split()
)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def tokenizer() -> jieba.Tokenizer:
    """The process's jieba tokenizer with the user dictionary loaded (built once, on first use)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                made = jieba.Tokenizer()
                made.tmp_dir = os.environ.get("JIEBA_CACHE_DIR") or tempfile.gettempdir()
                made.initialize()
                made.load_userdict(str(USER_DICTIONARY))
                _tokenizer = made
    return _tokenizer


def _normal(pieces) -> list[str]:
    words: list[str] = []
    for piece in pieces:
        words.extend(match.lower() for match in _WORD.findall(piece))
    return words


def _with_inner_words(words, dictionary) -> list[str]:
    """Each word, preceded by the dictionary words inside it (any length, unlike jieba's search
    mode, which only looks for two and three characters): 研发费用加计扣除 also gives 加计扣除."""
    out: list[str] = []
    for word in words:
        size = len(word)
        if size > 2:
            out += [
                word[i:j]
                for i in range(size - 1)
                for j in range(i + 2, min(size, i + 9) + 1)
                if (j - i) < size and dictionary.get(word[i:j])
            ]
        out.append(word)
    return out


def document_words(text: str) -> list[str]:
    """Every word of a text for the index: the words jieba finds, and the shorter dictionary words
    inside each (用电增容 → 用电, 增容, 用电增容), so a query for any of them finds the text."""
    if not text:
        return []
    return list(_segmented(text))


@lru_cache(maxsize=8192)
def _segmented(text: str) -> tuple[str, ...]:
    """One segmentation per text for everything that reads the same text in a row: a case's
    description is read by its search row and by the routing model in the same save (a bulk
    import's batch of 2,000 by both, one after the other) — jieba once, not twice."""
    segmenter = tokenizer()
    return tuple(_normal(_with_inner_words(segmenter.cut(text, HMM=True), segmenter.FREQ)))


def query_words(text: str) -> list[str]:
    """The words of a query, in order and without repeats (jieba's precise mode, no stopwords;
    when every word is a stopword the query keeps them, so 企业 alone still searches)."""
    if not text or not text.strip():
        return []
    words = list(dict.fromkeys(_normal(tokenizer().cut(text, HMM=True))))
    kept = [word for word in words if word not in STOPWORDS]
    return kept or words


def joined(words: list[str]) -> str:
    return " ".join(words)


def has_chinese(text: str) -> bool:
    return bool(_HAS_CJK.search(text))

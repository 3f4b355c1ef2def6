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
    words = _ahead.get(text)
    return list(words if words is not None else _segmented(text))


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


# -- segmenting ahead, in a child process -------------------------------------------------------

# How long a batch's words are waited for before the child is taken for hung, killed, and the
# texts segmented here (2,000 texts take it about 0.2 s).
AHEAD_TIMEOUT_SECONDS = 120

# Texts an ``AheadSegmenter`` segmented, until the writer that asked says it is done with them.
_ahead: dict[str, tuple[str, ...]] = {}


def _segment_all(texts: list[str]) -> list[tuple[str, ...]]:
    """In the child process: ``document_words`` of each text (the child builds its own tokenizer)."""
    return [_segmented(text) for text in texts]


class AheadSegmenter:
    """Segments a bulk writer's next batch of texts in a child process while the writer writes the
    batch before it: jieba, a fifth of a bulk import's work, moves to the other core.

    ``submit`` hands over a batch's texts and returns a ticket; ``use(ticket)`` waits for its
    words and makes ``document_words`` answer them from memory (the same words jieba gives here:
    same dictionary, same code) until ``done(ticket)``. Without a child process — it could not be
    started (a sandbox, a daemonic worker), or ``ahead`` is off — a ticket holds nothing and
    ``document_words`` segments as usual. ``close`` stops the child and forgets every text."""

    def __init__(self, *, ahead: bool) -> None:
        self._pool = None
        self._wanted = ahead
        self._texts: set[str] = set()

    def _start(self):
        if self._pool is None and self._wanted:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            try:
                # spawn: a fresh interpreter that imports this module alone (no Django, no database
                # connection, no other thread's locks inherited).
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            except (OSError, AssertionError, ValueError) as error:
                logging.getLogger(__name__).warning("segmenting inline: no child process (%s)", error)
                self._wanted = False
        return self._pool

    def submit(self, texts: list[str]):
        texts = [text for text in dict.fromkeys(texts) if text and text not in _ahead]
        pool = self._start() if texts else None
        if pool is None:
            return None
        try:
            return texts, pool.submit(_segment_all, texts)
        except RuntimeError as error:  # a broken pool: the child died
            logging.getLogger(__name__).warning("segmenting inline: the child process stopped (%s)", error)
            self._wanted, self._pool = False, None
            return None

    def use(self, ticket) -> None:
        if ticket is None:
            return
        texts, future = ticket
        try:
            words = future.result(timeout=AHEAD_TIMEOUT_SECONDS)
        except Exception as error:  # noqa: BLE001 - whatever stopped the child, segment here instead
            logging.getLogger(__name__).warning("segmenting inline: the child process failed (%r)", error)
            self._stop()
            return
        _ahead.update(zip(texts, words, strict=True))
        self._texts.update(texts)

    def done(self, ticket) -> None:
        if ticket is None:
            return
        for text in ticket[0]:
            _ahead.pop(text, None)
            self._texts.discard(text)

    def _stop(self) -> None:
        """No more child: a hung one is killed (a batch takes it well under a second)."""
        self._wanted = False
        if self._pool is not None:
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.kill()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        for text in self._texts:
            _ahead.pop(text, None)
        self._texts.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)  # an idle child: it exits at once
            self._pool = None

"""Type stubs of the Rust extension module (crates/python/src/lib.rs)."""

from typing import Any, Callable, Optional

__version__: str
K_AUTO_RANGE: tuple[int, int]

def option_names() -> list[str]: ...
def builtin_seed_sets() -> list[str]: ...

class NativeModel:
    @staticmethod
    def fit(
        texts: list[str],
        k: int,
        k_auto: Optional[tuple[int, int]],
        seed: int,
        threads: Optional[int],
        seeds: Optional[str],
        options: Optional[dict[str, Any]],
        progress: Optional[Callable[[str, int, int, int, float], None]],
    ) -> tuple["NativeModel", bytes, bytes]: ...
    @staticmethod
    def load(path: str) -> "NativeModel": ...
    def save(self, path: str) -> None: ...
    def predict(self, texts: list[str], threads: Optional[int] = None) -> tuple[bytes, bytes, bytes]: ...
    def predict_utf8(
        self,
        offsets_addr: int,
        offsets_size: int,
        data_addr: int,
        data_size: int,
        large: bool,
        offset: int,
        length: int,
        threads: Optional[int] = None,
    ) -> tuple[bytes, bytes, bytes]: ...
    def represent_utf8(
        self,
        offsets_addr: int,
        offsets_size: int,
        data_addr: int,
        data_size: int,
        large: bool,
        offset: int,
        length: int,
        threads: Optional[int] = None,
    ) -> bytes: ...
    def represent(self, texts: list[str], threads: Optional[int] = None) -> bytes: ...
    def probabilities(self, texts: list[str], threads: Optional[int] = None) -> bytes: ...
    @property
    def dim(self) -> int: ...
    @property
    def k(self) -> int: ...
    @property
    def seeded(self) -> bool: ...
    def clusters(self) -> list[dict[str, Any]]: ...
    def rename(self, id: int, name: str) -> None: ...
    def manifest_json(self) -> str: ...

import pytest


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory, worker_id):
    """A per-worker cache folder for green base sandboxes."""
    return tmp_path_factory.getbasetemp() / f"bases-{worker_id}"

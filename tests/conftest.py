import pytest


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory, worker_id):
    """The cache of green base sandboxes, shared by every xdist worker of the session."""
    root = tmp_path_factory.getbasetemp()
    return (root.parent if worker_id != "master" else root) / "bases"


def pytest_collection_modifyitems(items):
    # Each project test runs whole pytest sessions in sandboxes (and may first build a
    # green base of several katas): the 120 s backstop meant for one kata test is too short.
    for item in items:
        item.add_marker(pytest.mark.timeout(900))

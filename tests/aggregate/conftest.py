import pytest

from tests.aggregate.cases import made_files


@pytest.fixture(scope="session")
def made(tmp_path_factory):
    return made_files(str(tmp_path_factory.mktemp("aggregate")))

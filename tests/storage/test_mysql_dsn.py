"""New API's MySQL DSN forms select MySQL through asyncmy, as New API's own quick start writes them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from newapi.storage.engine import create_engine, resolve_database
from tests.conftest import make_settings
from tests.support.services import throwaway_mysql


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        (
            "root:123456@tcp(localhost:3306)/oneapi",
            "mysql+asyncmy://root:123456@localhost:3306/oneapi?charset=utf8mb4",
        ),
        (
            "newapi:p@ss:w/rd@tcp(db.internal:3307)/new-api?charset=utf8mb4&parseTime=True&loc=Local",
            "mysql+asyncmy://newapi:p%40ss%3Aw%2Frd@db.internal:3307/new-api?charset=utf8mb4",
        ),
        (
            "app@unix(/run/mysqld/mysqld.sock)/oneapi?parseTime=true",
            "mysql+asyncmy://app@/oneapi?charset=utf8mb4&unix_socket=/run/mysqld/mysqld.sock",
        ),
        (
            "mysql://u:pw@10.0.0.5:3306/oneapi?parseTime=true",
            "mysql+asyncmy://u:pw@10.0.0.5:3306/oneapi?charset=utf8mb4",
        ),
    ],
)
def test_new_api_mysql_dsns(dsn: str, url: str) -> None:
    database = resolve_database(make_settings(), dsn)
    assert database.dialect == "mysql" and database.url == url


def test_password_is_hidden_in_logs() -> None:
    database = resolve_database(make_settings(), "root:s3cret@tcp(127.0.0.1:3306)/oneapi")
    assert "s3cret" not in database.describe()


async def test_a_go_dsn_connects_to_the_local_server() -> None:
    async with throwaway_mysql() as dsn:
        engine = create_engine(resolve_database(make_settings(), dsn), make_settings(), pool=False)
        try:
            async with engine.connect() as conn:
                charset = (await conn.execute(text("SELECT @@character_set_connection"))).scalar_one()
        finally:
            await engine.dispose()
    assert charset == "utf8mb4"

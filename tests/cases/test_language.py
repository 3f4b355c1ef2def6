def test_pages_are_chinese_even_for_an_english_browser(client, county_a):
    client.force_login(county_a)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "企业问题台帐" in page


def test_the_switcher_can_choose_english(client, county_a):
    client.force_login(county_a)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert "Enterprise problem ledger" in page

"""The read-only public JSON API and its OpenAPI document."""


def test_awards_list(client, seeded_award):
    response = client.get("/api/v1/awards")
    assert response.status_code == 200
    assert response.json == [
        {
            "slug": "excellence-award",
            "title": "Excellence Award: Cities Innovation for Social Change",
            "description": seeded_award.description,
            "status": "draft",
            "nominee_count": 13,
        }
    ]


def test_nominees_of_an_award_in_order(client, seeded_award):
    response = client.get("/api/v1/awards/excellence-award/nominees")
    assert response.status_code == 200
    nominees = response.json
    assert [n["slug"] for n in nominees] == [n.slug for n in seeded_award.nominees]
    assert set(nominees[0]) == {"slug", "title", "organisation", "city", "country", "summary"}
    bucharest = next(n for n in nominees if n["slug"] == "bucharest-for-ukraine")
    assert (bucharest["city"], bucharest["country"]) == ("Bucharest", "Romania")


def test_unknown_award_is_a_json_404(client):
    response = client.get("/api/v1/awards/nope/nominees")
    assert response.status_code == 404
    assert response.is_json
    assert response.json["code"] == 404


def test_openapi_document_describes_the_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/awards" in spec["paths"]
    nominees = spec["paths"]["/api/v1/awards/{award_slug}/nominees"]["get"]
    assert set(nominees["responses"]) >= {"200", "404"}
    schema = spec["components"]["schemas"]["NomineeOut"]
    assert set(schema["required"]) == {
        "slug",
        "title",
        "organisation",
        "city",
        "country",
        "summary",
    }

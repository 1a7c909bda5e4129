use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    fixtures::{School, course_body, course_content},
    helpers::spawn_app,
};

#[tokio::test]
async fn a_teacher_writes_a_draft_that_students_cannot_see_until_published() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let created = app
        .post(
            "/api/courses",
            Some(&school.teacher.token),
            course_body("Récursivité et piles"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["course"]["id"].as_i64().expect("id");
    assert_eq!(created.body["course"]["isPublished"], json!(false));
    assert_eq!(
        created.body["course"]["content"]["chapters"][0]["sections"][0]["examples"][0]["title"],
        json!("Empiler")
    );

    let path = format!("/api/courses/{id}");
    assert_eq!(
        app.get(&path, Some(&school.student.token)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path, Some(&school.parent.token)).await.status,
        StatusCode::NOT_FOUND
    );
    let listed = app
        .get("/api/courses?q=recursivite", Some(&school.student.token))
        .await;
    assert_eq!(
        listed.body["pagination"]["total"],
        json!(0),
        "drafts are not listed for students"
    );

    app.publish_course(&school.teacher.token, id).await;
    let seen = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(seen.status, StatusCode::OK);
    for key in [
        "id",
        "title",
        "description",
        "level",
        "category",
        "content",
        "prerequisites",
        "objectives",
        "estimatedTime",
    ] {
        assert!(
            seen.body.get(key).is_some(),
            "contract field {key} missing: {}",
            seen.body
        );
    }
    app.post(
        &format!("{path}/unpublish"),
        Some(&school.teacher.token),
        json!({}),
    )
    .await;
    assert_eq!(
        app.get(&path, Some(&school.student.token)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_teacher_can_read_a_published_course_but_not_change_it() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let other = app.user(Role::Teacher).await;
    let path = format!("/api/courses/{}", school.course_id);
    assert_eq!(
        app.get(&path, Some(&other.token)).await.status,
        StatusCode::OK
    );
    let edit = app
        .put(&path, Some(&other.token), course_body("Volé"))
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    let delete = app.delete(&path, Some(&other.token)).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let draft = app
        .write_course(&school.teacher.token, course_body("Brouillon secret"))
        .await;
    let draft_path = format!("/api/courses/{draft}");
    assert_eq!(
        app.get(&draft_path, Some(&other.token)).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The detail reads the content's JSON text that Postgres keeps next to it (a generated
/// column): an edit must show at once, to every reader, exactly as written.
#[tokio::test]
async fn an_edit_of_the_content_shows_at_once_in_the_detail() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let path = format!("/api/courses/{}", school.course_id);
    let before = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    let title = json!("Empiler « deux fois » \\ avec des accents : éè");
    let mut body = course_body("Piles et files");
    body["content"]["chapters"][0]["sections"][0]["examples"][0]["title"] = title.clone();
    let edit = app
        .put(&path, Some(&school.teacher.token), body.clone())
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    for token in [&school.student.token, &school.teacher.token] {
        let after = app.get(&path, Some(token)).await;
        assert_eq!(after.status, StatusCode::OK, "{}", after.body);
        // (The API stores the content normalised: empty lists where the body had none.)
        assert_eq!(after.body["content"], edit.body["course"]["content"]);
        assert_eq!(
            after.body["content"]["chapters"][0]["sections"][0]["examples"][0]["title"],
            title
        );
        assert_ne!(after.body["content"], before.body["content"]);
    }
}

#[tokio::test]
async fn course_content_is_validated_on_write() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let mut duplicate_ids = course_body("Doublons");
    duplicate_ids["content"]["chapters"][1]["sections"][0]["id"] = json!("ch1-s1");
    let mut unknown_field = course_body("Champ inconnu");
    unknown_field["content"]["chapters"][0]["video"] = json!("x");
    let mut bad_level = course_body("Niveau");
    bad_level["level"] = json!("seconde");
    bad_level["category"] = json!("Réseaux !");
    for (what, body, field) in [
        ("duplicate ids", duplicate_ids, "content"),
        ("bad level", bad_level, "level"),
    ] {
        let answer = app
            .post("/api/courses", Some(&school.teacher.token), body)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            answer.body
        );
        assert!(
            answer.body["details"][field].is_string(),
            "{what}: {}",
            answer.body
        );
    }
    let answer = app
        .post("/api/courses", Some(&school.teacher.token), unknown_field)
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut empty = course_body("Vide");
    empty["content"] = json!({"chapters": []});
    let draft = app
        .post("/api/courses", Some(&school.teacher.token), empty)
        .await;
    let publish = app
        .post(
            &format!("/api/courses/{}/publish", draft.body["course"]["id"]),
            Some(&school.teacher.token),
            json!({}),
        )
        .await;
    assert_eq!(
        publish.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a course without sections is not published"
    );
}

#[tokio::test]
async fn the_list_filters_paginates_and_searches_in_french() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let teacher = &school.teacher.token;
    for (title, level, category, text) in [
        (
            "Les graphes",
            "terminale",
            "algorithmique",
            "Parcours en largeur des graphes orientés.",
        ),
        (
            "Récursivité",
            "terminale",
            "programmation",
            "Une fonction récursive s'appelle elle-même.",
        ),
        (
            "Réseaux et protocoles",
            "premiere",
            "reseaux",
            "Les paquets circulent entre routeurs.",
        ),
        (
            "Tris simples",
            "premiere",
            "algorithmique",
            "Tri par insertion et tri par sélection.",
        ),
    ] {
        let mut body = course_body(title);
        body["level"] = json!(level);
        body["category"] = json!(category);
        body["description"] = json!(text);
        let id = app.write_course(teacher, body).await;
        app.publish_course(teacher, id).await;
    }
    let student = &school.student.token;
    let search = |q: &'static str| {
        let path = format!("/api/courses?q={q}");
        let app = &app;
        async move { app.get(&path, Some(student)).await }
    };
    let titles = |body: &serde_json::Value| -> Vec<String> {
        body["courses"]
            .as_array()
            .expect("courses")
            .iter()
            .map(|c| c["title"].as_str().expect("title").to_owned())
            .collect()
    };
    assert_eq!(
        titles(&search("recursivite").await.body),
        ["Récursivité"],
        "accents do not matter"
    );
    assert_eq!(
        titles(&search("graphe").await.body),
        ["Les graphes"],
        "plurals do not matter"
    );
    assert_eq!(
        titles(&search("routeur").await.body),
        ["Réseaux et protocoles"]
    );
    assert!(titles(&search("insertion").await.body).contains(&"Tris simples".to_owned()));

    let filtered = app
        .get(
            "/api/courses?level=premiere&category=algorithmique",
            Some(student),
        )
        .await;
    assert_eq!(titles(&filtered.body), ["Tris simples"]);
    let first = app.get("/api/courses?limit=2&page=1", Some(student)).await;
    assert_eq!(first.body["pagination"]["total"], json!(5));
    assert_eq!(first.body["pagination"]["pages"], json!(3));
    assert_eq!(first.body["courses"].as_array().expect("courses").len(), 2);
    let summary = &first.body["courses"][0];
    for key in [
        "id",
        "title",
        "description",
        "level",
        "category",
        "duration",
        "isPublished",
    ] {
        assert!(summary.get(key).is_some(), "{key}");
    }
    let by_class = app
        .get(
            &format!("/api/courses?classId={}", school.class_id),
            Some(student),
        )
        .await;
    assert_eq!(titles(&by_class.body), ["Piles et files"]);
    let hostile = app
        .get(
            "/api/courses?q=%27%29%20or%201%3D1%20--%20%26%20%21%21",
            Some(student),
        )
        .await;
    assert_eq!(hostile.status, StatusCode::OK, "{}", hostile.body);
}

#[tokio::test]
async fn assigning_a_published_course_notifies_the_class() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let mut body = course_body("Arbres binaires");
    body["content"] = course_content();
    let id = app.write_course(&school.teacher.token, body).await;
    app.publish_course(&school.teacher.token, id).await;
    // Assigned, then assigned again (refused: already there).
    for expected in [StatusCode::CREATED, StatusCode::CONFLICT] {
        let assigned = app
            .post(
                &format!("/api/courses/{id}/classes"),
                Some(&school.teacher.token),
                json!({"classId": school.class_id}),
            )
            .await;
        assert_eq!(assigned.status, expected, "{}", assigned.body);
    }
    let notifications = app
        .get("/api/notifications", Some(&school.student.token))
        .await;
    assert_eq!(
        notifications.body["notifications"][0]["kind"],
        json!("course_published")
    );
    assert_eq!(
        notifications.body["notifications"][0]["data"]["courseId"],
        id
    );
    // Another teacher's class cannot receive this teacher's course.
    let other = app.user(Role::Teacher).await;
    let (other_class, _) = crate::fixtures::class_of(&app, other.id).await;
    let foreign = app
        .post(
            &format!("/api/courses/{id}/classes"),
            Some(&school.teacher.token),
            json!({"classId": other_class}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
}

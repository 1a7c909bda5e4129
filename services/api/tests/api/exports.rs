//! Grade exports: the CSV a French spreadsheet opens as it is, the XLSX read back with a
//! real reader (calamine), and who may download them.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use nexus_auth::Role;
use reqwest::StatusCode;

use crate::{
    fixtures::{School, add_member, attempt_of},
    helpers::{TestApp, spawn_app},
};

async fn rename(app: &TestApp, id: i64, first: &str, last: &str) {
    sqlx::query("update users set first_name = $2, last_name = $3 where id = $1")
        .bind(id)
        .bind(first)
        .bind(last)
        .execute(&app.pool)
        .await
        .expect("rename");
}

async fn graded(app: &TestApp, assessment: i64, student: i64, score: f64, late: bool) {
    let attempt = attempt_of(app, assessment, student, "graded").await;
    sqlx::query("update assessment_results set score = $2, is_late = $3 where id = $1")
        .bind(attempt)
        .bind(score)
        .bind(late)
        .execute(&app.pool)
        .await
        .expect("grade");
}

async fn download(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (
        status,
        disposition,
        response.bytes().await.expect("body").to_vec(),
    )
}

/// A class of three: Zoé Martin graded twice on the first quiz (the best counts) and
/// late on the second; Éloïse Abel whose name looks like a formula, waiting for a
/// correction; Camille Durand who handed nothing in.
struct Gradebook {
    school: School,
    quiz1: i64,
    quiz2: i64,
}

async fn gradebook(app: &TestApp) -> Gradebook {
    let school = School::new(app).await;
    let zoe = app.user(Role::Student).await;
    let eloise = app.user(Role::Student).await;
    rename(app, zoe.id, "Zoé", "Martin").await;
    rename(app, eloise.id, "Éloïse", "=Abel").await;
    add_member(app, school.class_id, zoe.id).await;
    add_member(app, school.class_id, eloise.id).await;
    let quiz1 = school.quiz(app).await;
    let quiz2 = school.quiz(app).await;
    sqlx::query("update assessments set title = 'Récursivité' where id = $1")
        .bind(quiz2)
        .execute(&app.pool)
        .await
        .expect("title");
    graded(app, quiz1, zoe.id, 1.0, false).await;
    graded(app, quiz1, zoe.id, 1.5, false).await;
    graded(app, quiz2, zoe.id, 2.0, true).await;
    attempt_of(app, quiz1, eloise.id, "submitted").await;
    Gradebook {
        school,
        quiz1,
        quiz2,
    }
}

#[tokio::test]
async fn the_class_csv_is_what_a_french_gradebook_pastes() {
    let app = spawn_app().await;
    let book = gradebook(&app).await;
    let (status, disposition, body) = download(
        &app,
        &format!("/api/classes/{}/grades/export", book.school.class_id),
        &book.school.teacher.token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        disposition,
        "attachment; filename=\"notes-terminale-nsi.csv\""
    );
    assert_eq!(&body[..3], b"\xEF\xBB\xBF", "UTF-8 BOM for Excel");
    let text = String::from_utf8(body[3..].to_vec()).expect("utf-8");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines,
        vec![
            "Nom;Prénom;Quiz piles (/2);Récursivité (/2);Moyenne (/20)",
            // Sorted by last name; "=Abel" stays text; a submission waiting for its
            // correction is no grade yet.
            "'=Abel;Éloïse;;;",
            "Durand;Camille;;;",
            // Best of 1 and 1,5; average of 15/20 and 20/20.
            "Martin;Zoé;1,5;2;17,5",
            "",
        ]
    );
    // The first quiz is quiz1, opened first.
    let _ = (book.quiz1, book.quiz2);
}

#[tokio::test]
async fn one_assessments_csv_says_each_students_status() {
    let app = spawn_app().await;
    let book = gradebook(&app).await;
    let (status, disposition, body) = download(
        &app,
        &format!(
            "/api/classes/{}/assessments/{}/grades/export?format=csv",
            book.school.class_id, book.quiz2
        ),
        &book.school.teacher.token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        disposition,
        "attachment; filename=\"notes-terminale-nsi-recursivite.csv\""
    );
    let text = String::from_utf8(body[3..].to_vec()).expect("utf-8");
    assert_eq!(
        text,
        "Nom;Prénom;Note;Sur;Note sur 20;Statut;En retard\r\n\
         '=Abel;Éloïse;;2;;Non rendu;non\r\n\
         Durand;Camille;;2;;Non rendu;non\r\n\
         Martin;Zoé;2;2;20;Noté;oui\r\n"
    );
    let (_, _, body) = download(
        &app,
        &format!(
            "/api/classes/{}/assessments/{}/grades/export",
            book.school.class_id, book.quiz1
        ),
        &book.school.teacher.token,
    )
    .await;
    let text = String::from_utf8(body[3..].to_vec()).expect("utf-8");
    assert!(
        text.contains("'=Abel;Éloïse;;2;;À corriger;non\r\n"),
        "{text}"
    );
    assert!(text.contains("Martin;Zoé;1,5;2;15;Noté;non\r\n"), "{text}");
}

#[tokio::test]
async fn the_class_xlsx_reads_back_with_numbers_in_its_cells() {
    let app = spawn_app().await;
    let book = gradebook(&app).await;
    let (status, disposition, body) = download(
        &app,
        &format!(
            "/api/classes/{}/grades/export?format=xlsx",
            book.school.class_id
        ),
        &book.school.teacher.token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        disposition.ends_with("notes-terminale-nsi.xlsx\""),
        "{disposition}"
    );
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).expect("a real XLSX");
    assert_eq!(workbook.sheet_names(), vec!["Terminale NSI".to_owned()]);
    let range = workbook.worksheet_range("Terminale NSI").expect("sheet");
    let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    assert_eq!(range.get_size(), (4, 5));
    assert_eq!(cell(0, 2), Data::String("Quiz piles (/2)".into()));
    assert_eq!(cell(0, 4), Data::String("Moyenne (/20)".into()));
    // A formula-looking name is a plain string in the XLSX (never a formula).
    assert_eq!(cell(1, 0), Data::String("=Abel".into()));
    assert_eq!(cell(1, 2), Data::Empty);
    assert_eq!(cell(3, 0), Data::String("Martin".into()));
    assert_eq!(cell(3, 1), Data::String("Zoé".into()));
    assert_eq!(cell(3, 2), Data::Float(1.5));
    assert_eq!(cell(3, 3), Data::Float(2.0));
    assert_eq!(cell(3, 4), Data::Float(17.5));
}

#[tokio::test]
async fn one_assessments_xlsx_reads_back() {
    let app = spawn_app().await;
    let book = gradebook(&app).await;
    let (status, _, body) = download(
        &app,
        &format!(
            "/api/classes/{}/assessments/{}/grades/export?format=xlsx",
            book.school.class_id, book.quiz1
        ),
        &book.school.admin.token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "an admin may export any class");
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).expect("a real XLSX");
    let range = workbook.worksheet_range("Quiz piles").expect("sheet");
    let row: Vec<Data> = (0..7)
        .map(|c| range.get_value((3, c)).cloned().unwrap_or(Data::Empty))
        .collect();
    assert_eq!(
        row,
        vec![
            Data::String("Martin".into()),
            Data::String("Zoé".into()),
            Data::Float(1.5),
            Data::Float(2.0),
            Data::Float(15.0),
            Data::String("Noté".into()),
            Data::String("non".into()),
        ]
    );
}

#[tokio::test]
async fn only_the_classs_teacher_and_admins_export_its_grades() {
    let app = spawn_app().await;
    let book = gradebook(&app).await;
    let other_teacher = app.user(Role::Teacher).await;
    let class_path = format!("/api/classes/{}/grades/export", book.school.class_id);
    let one_path = format!(
        "/api/classes/{}/assessments/{}/grades/export",
        book.school.class_id, book.quiz1
    );
    for path in [&class_path, &one_path] {
        for (who, token) in [
            ("another teacher", &other_teacher.token),
            ("a student of the class", &book.school.student.token),
            ("a parent of a student", &book.school.parent.token),
        ] {
            let answer = app.get(path, Some(token)).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{who} on {path}");
            assert_eq!(answer.error_code(), "forbidden");
        }
        let answer = app.get(path, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let missing = app
        .get(
            "/api/classes/999999/grades/export",
            Some(&book.school.teacher.token),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // An assessment of the same teacher not published to this class is not in its grades.
    let unpublished = book.school.unpublished_quiz(&app).await;
    let answer = app
        .get(
            &format!(
                "/api/classes/{}/assessments/{unpublished}/grades/export",
                book.school.class_id
            ),
            Some(&book.school.teacher.token),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error_code(), "not_found");
    let answer = app
        .get(
            &format!("{class_path}?format=pdf"),
            Some(&book.school.teacher.token),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["details"]["format"],
        "Format attendu : csv ou xlsx."
    );
}

#[tokio::test]
async fn a_students_report_lists_best_grades_and_is_shown_only_to_who_may_see_them() {
    let app = spawn_app().await;
    let book = gradebook(&app).await;
    let zoe: i64 = sqlx::query_scalar("select id from users where last_name = 'Martin'")
        .fetch_one(&app.pool)
        .await
        .expect("zoe");
    let path = format!("/api/students/{zoe}/report");
    let report = app.get(&path, Some(&book.school.teacher.token)).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert_eq!(report.body["student"]["firstName"], "Zoé");
    assert_eq!(report.body["classes"], serde_json::json!(["Terminale NSI"]));
    let results: Vec<(String, f64)> = report.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["title"].as_str().expect("title").to_owned(),
                r["score"].as_f64().expect("score"),
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            ("Quiz piles".to_owned(), 1.5),
            ("Récursivité".to_owned(), 2.0)
        ],
        "the best attempt per assessment"
    );
    let other_teacher = app.user(Role::Teacher).await;
    let other_parent = app.user(Role::Parent).await;
    for (who, token, expected) in [
        ("an admin", &book.school.admin.token, StatusCode::OK),
        (
            "another teacher",
            &other_teacher.token,
            StatusCode::NOT_FOUND,
        ),
        ("another parent", &other_parent.token, StatusCode::NOT_FOUND),
        (
            "another student",
            &book.school.student.token,
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(app.get(&path, Some(token)).await.status, expected, "{who}");
    }
    let own = app
        .get(
            &format!("/api/students/{}/report", book.school.student.id),
            Some(&book.school.parent.token),
        )
        .await;
    assert_eq!(
        own.status,
        StatusCode::OK,
        "a parent sees their child's report"
    );
}

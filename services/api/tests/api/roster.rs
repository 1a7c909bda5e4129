//! Roster import from a Pronote/ENT CSV: the dry run reports every row and writes
//! nothing; the real run creates, enrols and invites, and mails the invitations.

use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    fixtures::{School, class_of},
    helpers::{Answer, TestApp, eventually, reset_token_in, spawn_app},
};

async fn import(app: &TestApp, class_id: i64, query: &str, token: &str, body: Vec<u8>) -> Answer {
    let response = app
        .client
        .post(format!(
            "{}/api/classes/{class_id}/roster/import{query}",
            app.address
        ))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

fn outcomes(report: &Value) -> Vec<(i64, String, String)> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().expect("line"),
                r["outcome"].as_str().expect("outcome").to_owned(),
                r["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

/// A Pronote-like export in Windows-1252 with `;`: every kind of row.
fn pronote_file(existing: &str, member: &str, teacher: &str) -> Vec<u8> {
    let text = format!(
        "NOM;PRÉNOM;Né(e) le;Classe;Adresse e-mail;Régime\r\n\
         Lefèvre;Anaïs;12/03/2009;TG3;anais.lefevre@eleve.fr;Externe\r\n\
         Durand;Camille;01/09/2008;TG3;{existing};DP\r\n\
         Martin;Zoé;;TG3;{member};DP\r\n\
         Petit;Noé;05/05/2009;TG3;pas-une-adresse;DP\r\n\
         Lefèvre;Anaïs;12/03/2009;TG3;Anais.Lefevre@eleve.fr;Externe\r\n\
         Roux;Inès;31/02/2009;TG3;ines.roux@eleve.fr;DP\r\n\
         Prof;Jean;;TG3;{teacher};\r\n\
         Bernard;Léo;14/07/2009;TG1;leo.bernard@eleve.fr;DP\r\n\
         ;Sans nom;;TG3;sans.nom@eleve.fr;\r\n"
    );
    // Every character of it is in Latin-1, whose code points are its bytes.
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

#[tokio::test]
async fn a_dry_run_reports_every_row_and_writes_nothing() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let existing = app.user(Role::Student).await;
    let file = pronote_file(
        &existing.email,
        &school.student.email,
        &school.teacher.email,
    );
    let users_before = count(&app, "select count(*) from users").await;
    let answer = import(
        &app,
        school.class_id,
        "?sourceClass=tg3",
        &school.teacher.token,
        file,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let report = &answer.body;
    assert_eq!(report["dryRun"], json!(true), "dry run by default");
    assert_eq!(report["separator"], ";");
    assert_eq!(report["classesInFile"], json!(["TG3", "TG1"]));
    assert_eq!(
        outcomes(report),
        vec![
            (2, "create".into(), "".into()),
            (3, "invite".into(), "".into()),
            (4, "already_member".into(), "".into()),
            (5, "error".into(), "Adresse e-mail invalide.".into()),
            (6, "error".into(), "Adresse déjà présente ligne 2.".into()),
            (
                7,
                "error".into(),
                "Date de naissance invalide (attendue : JJ/MM/AAAA).".into()
            ),
            (
                8,
                "error".into(),
                "Adresse déjà utilisée par un compte qui n'est pas un élève.".into()
            ),
            (9, "skipped".into(), "Autre classe (TG1).".into()),
            (
                10,
                "error".into(),
                "Nom manquant ou trop long (100 caractères au plus).".into()
            ),
        ]
    );
    // Latin-1 read as such; the birth date in ISO form.
    assert_eq!(report["rows"][0]["lastName"], "Lefèvre");
    assert_eq!(report["rows"][0]["firstName"], "Anaïs");
    assert_eq!(report["rows"][0]["birthDate"], "2009-03-12");
    assert_eq!(
        report["summary"],
        json!({"rows": 9, "created": 1, "invited": 1, "alreadyMember": 1, "skipped": 1, "errors": 5})
    );
    assert_eq!(
        count(&app, "select count(*) from users").await,
        users_before
    );
    assert_eq!(
        count(&app, "select count(*) from class_invitations").await,
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mails().await.is_empty(), "a dry run mails nobody");
}

#[tokio::test]
async fn the_real_run_creates_enrols_invites_and_mails_a_working_link() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let existing = app.user(Role::Student).await;
    // UTF-8 with BOM and `,`, quoted fields, as Excel saves "CSV UTF-8".
    let file = format!(
        "\u{feff}nom,prénom,email,classe,date de naissance\r\n\
         \"Lefèvre\",\"Anaïs\",anais.lefevre@eleve.fr,TG3,2009-03-12\r\n\
         \"Durand, dite Cam\",Camille,{},TG3,\r\n\
         Petit,Noé,pas-une-adresse,TG3,\r\n",
        existing.email
    );
    let answer = import(
        &app,
        school.class_id,
        "?dryRun=false",
        &school.teacher.token,
        file.into_bytes(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["dryRun"], json!(false));
    assert_eq!(answer.body["separator"], ",");
    assert_eq!(
        outcomes(&answer.body)
            .into_iter()
            .map(|(_, o, _)| o)
            .collect::<Vec<_>>(),
        vec!["create", "invite", "error"]
    );
    let (anais, birth, member): (i64, String, bool) = sqlx::query_as(
        "select u.id, u.date_of_birth::text, exists(select 1 from class_members m where m.student_id = u.id and m.class_id = $1)
         from users u where u.email = 'anais.lefevre@eleve.fr' and u.role = 'student' and u.first_name = 'Anaïs'",
    )
    .bind(school.class_id)
    .fetch_one(&app.pool)
    .await
    .expect("created");
    assert_eq!(birth, "2009-03-12");
    assert!(member, "a new account from the school's roster is enrolled");
    let level: String =
        sqlx::query_scalar("select class_level from student_profiles where user_id = $1")
            .bind(anais)
            .fetch_one(&app.pool)
            .await
            .expect("profile");
    assert_eq!(level, "terminale", "the class's level");
    // The existing student is invited, not enrolled, and told in the app.
    let invited = count(
        &app,
        &format!(
            "select count(*) from class_invitations where class_id = {} and email = '{}'",
            school.class_id, existing.email
        ),
    )
    .await;
    assert_eq!(invited, 1);
    let notes = app.get("/api/notifications", Some(&existing.token)).await;
    assert!(
        notes.body.to_string().contains("class_invitation"),
        "{}",
        notes.body
    );
    // Two mails: the new account's activation, the invitation.
    let mails = eventually("two mails", || async {
        let mails = app.mails().await;
        (mails.len() == 2).then_some(mails)
    })
    .await;
    let activation = mails
        .iter()
        .find(|m| m.contains("anais.lefevre@eleve.fr"))
        .expect("activation mail");
    assert!(activation.contains("Terminale NSI"), "{activation}");
    let token = reset_token_in(activation);
    // No password works before the student chooses one; the mailed code sets it.
    assert_eq!(
        app.login("anais.lefevre@eleve.fr", "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let confirm = app.confirm_reset(&token, "Cerf-Volant-2026!").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let login = app
        .login("anais.lefevre@eleve.fr", "Cerf-Volant-2026!")
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert!(
        mails
            .iter()
            .any(|m| m.contains(&existing.email) && m.contains("Invitation"))
    );
    // Importing the same file again changes nothing: already a member, already invited.
    let again = import(
        &app,
        school.class_id,
        "?dryRun=false",
        &school.teacher.token,
        "nom;prénom;email\nLefèvre;Anaïs;anais.lefevre@eleve.fr\n".into(),
    )
    .await;
    assert_eq!(outcomes(&again.body)[0].1, "already_member");
}

#[tokio::test]
async fn only_the_classs_teacher_and_admins_import_and_bad_files_are_explained() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let other_teacher = app.user(Role::Teacher).await;
    let file = || b"nom;prenom;email\nA;B;a.b@eleve.fr\n".to_vec();
    for (who, token) in [
        ("another teacher", &other_teacher.token),
        ("a student", &school.student.token),
        ("a parent", &school.parent.token),
    ] {
        let answer = import(&app, school.class_id, "?dryRun=false", token, file()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(answer.error_code(), "forbidden");
    }
    let anonymous = app
        .raw(
            Method::POST,
            &format!("/api/classes/{}/roster/import", school.class_id),
            "text/csv",
            file(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        count(
            &app,
            "select count(*) from users where email = 'a.b@eleve.fr'"
        )
        .await,
        0
    );
    // An admin may import into any class.
    let admin = import(&app, school.class_id, "", &school.admin.token, file()).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);

    let missing = import(
        &app,
        school.class_id,
        "",
        &school.teacher.token,
        b"nom;classe\nA;TG3\n".to_vec(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        missing.body["details"]["file"],
        "Colonnes manquantes : prénom, email. Colonnes attendues : nom, prénom, email, classe, date de naissance."
    );
    let empty = import(&app, school.class_id, "", &school.teacher.token, Vec::new()).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.body["details"]["file"], "Le fichier est vide.");
    let mut big = String::from("nom;prénom;email\n");
    for i in 0..1001 {
        big.push_str(&format!("N{i};P;e{i}@eleve.fr\n"));
    }
    let too_big = import(&app, school.class_id, "", &school.teacher.token, big.into()).await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_big.body["details"]["file"],
        "Trop de lignes : 1001 (au plus 1000 par import)."
    );

    // An archived class takes no new students.
    let (archived, _) = class_of(&app, school.teacher.id).await;
    sqlx::query("update classes set archived_at = now() where id = $1")
        .bind(archived)
        .execute(&app.pool)
        .await
        .expect("archive");
    let answer = import(
        &app,
        archived,
        "?dryRun=false",
        &school.teacher.token,
        file(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.error_code(), "class_archived");
}

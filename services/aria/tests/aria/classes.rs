//! The class filter (`context.classId`): a class's courses are searched first, on
//! both backends (the embedded store here, Qdrant in `qdrant.rs` through the same
//! scenario); a change of a course's classes reaches the index; a class the student
//! is not in is refused before anything is stored.

use std::time::Duration;

use nexus_aria::{
    maintain_index,
    retrieval::{Method, Retriever},
    vectors::Filter,
};
use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::{Aria, spawn};

/// A question both test courses answer in part (piles, and the graph's queue).
const BOTH: &str = "pile LIFO parcours en largeur graphe";

async fn assign(aria: &Aria, course: i64, class: i64) {
    sqlx::query("insert into course_classes (course_id, class_id) values ($1, $2)")
        .bind(course)
        .bind(class)
        .execute(&aria.pool)
        .await
        .expect("assign");
}

async fn unassign(aria: &Aria, course: i64, class: i64) {
    sqlx::query("delete from course_classes where course_id = $1 and class_id = $2")
        .bind(course)
        .bind(class)
        .execute(&aria.pool)
        .await
        .expect("unassign");
}

/// The courses a class-filtered search finds, once the store has caught up (the
/// embedded store reloads on the version the trigger bumps; Qdrant's payload is
/// rewritten by the sync, which the test runs itself as well as the service).
async fn class_courses(r: &Retriever, class: i64, expected: &[i64]) -> Vec<i64> {
    let filter = Filter {
        class_id: Some(class),
        ..Filter::default()
    };
    let mut found = Vec::new();
    for _ in 0..100 {
        let _ = maintain_index(r).await;
        let passages = r
            .search_with(BOTH, filter, 5, Method::Fused)
            .await
            .expect("search");
        found = passages.iter().map(|p| p.course_id).collect();
        found.sort_unstable();
        found.dedup();
        if found == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

/// The whole scenario, on the backend `r` uses (`aria` on the same one).
pub async fn class_filter_scenario(aria: &Aria, r: &Retriever) {
    let (teacher, teacher_token) = aria.user(Role::Teacher).await;
    let (_, other_teacher_token) = aria.user(Role::Teacher).await;
    let stacks = aria.stacks_course(teacher).await;
    let graphs = aria.graphs_course(teacher).await;
    let (member, member_token) = aria.user(Role::Student).await;
    let (_, stranger_token) = aria.user(Role::Student).await;
    let class = aria.class(teacher, &[member]).await;
    let other_class = aria.class(teacher, &[]).await;
    assign(aria, stacks, class).await;
    assign(aria, graphs, other_class).await;

    // The filter keeps only the class's courses (both courses match the question).
    assert_eq!(class_courses(r, class, &[stacks]).await, [stacks]);
    assert_eq!(class_courses(r, other_class, &[graphs]).await, [graphs]);
    let unfiltered = r
        .search_with(BOTH, Filter::default(), 5, Method::Fused)
        .await
        .expect("search");
    assert!(
        unfiltered.iter().any(|p| p.course_id == graphs)
            && unfiltered.iter().any(|p| p.course_id == stacks),
        "both courses answer the question: {unfiltered:?}"
    );

    // The assignments change (the graphs course moves to the class): the index sees it.
    unassign(aria, graphs, other_class).await;
    assign(aria, graphs, class).await;
    let mut both = [stacks, graphs];
    both.sort_unstable();
    assert_eq!(class_courses(r, class, &both).await, both);
    assert_eq!(
        class_courses(r, other_class, &[]).await,
        Vec::<i64>::new(),
        "a class without courses finds nothing"
    );
    unassign(aria, stacks, class).await;
    assert_eq!(class_courses(r, class, &[graphs]).await, [graphs]);

    // Through the chat: the class's courses first…
    let ask = |class: i64| {
        json!({"message": "Explique la pile LIFO et le parcours en largeur d'un graphe",
               "context": {"classId": class}})
    };
    let (status, answer) = aria.chat(&member_token, ask(class)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let titles: Vec<&str> = answer["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["sectionTitle"].as_str())
        .collect();
    assert_eq!(
        titles,
        ["Parcours en largeur"],
        "the class's course only: {answer}"
    );
    // …and the level's when nothing of the class answers.
    let (status, answer) = aria
        .chat(
            &member_token,
            json!({"message": "Qu'est-ce qu'une pile LIFO ?", "context": {"classId": class}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Les piles"),
        "nothing in the class: the level's courses: {answer}"
    );

    // A class the student is not in, or one that does not exist: refused on the
    // field, before anything is stored.
    let stored = aria.count("select count(*) from aria_messages").await;
    for (what, token, class) in [
        ("a class of others", &stranger_token, class),
        ("an unknown class", &member_token, other_class + 1000),
        (
            "a class of the student's teacher, not theirs",
            &member_token,
            other_class,
        ),
    ] {
        let (status, body) = aria.chat(token, ask(class)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(
            body["details"]["context.classId"],
            json!("Tu ne fais pas partie de cette classe."),
            "{what}: {body}"
        );
    }
    assert_eq!(
        aria.count("select count(*) from aria_messages").await,
        stored,
        "refused before anything is stored"
    );

    // Teachers: their own class, not another teacher's.
    let (status, answer) = aria.chat(&teacher_token, ask(class)).await;
    assert_eq!(status, StatusCode::OK, "the class's teacher: {answer}");
    let (status, body) = aria.chat(&other_teacher_token, ask(class)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["details"]["context.classId"],
        json!("Classe introuvable ou qui n'est pas la tienne."),
        "{body}"
    );
}

#[tokio::test]
async fn the_class_filter_on_the_embedded_store_keeps_the_class_s_courses_and_follows_assignments()
{
    let aria = spawn(100).await;
    let settings = nexus_aria::AriaSettings::from_env().expect("settings");
    let r = nexus_aria::retriever(&settings, &aria.pool, &reqwest::Client::new());
    assert!(
        matches!(r.store, nexus_aria::retrieval::Store::Memory(_)),
        "the embedded store"
    );
    class_filter_scenario(&aria, &r).await;
}

//! The contract's pagination: `?page=1&limit=10`, limit capped at 100, answered with
//! `{"pagination": {"page", "limit", "total", "pages"}}`.

use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u32>,
    /// Items per page (1 to 100, default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
    pub fn offset(&self) -> i64 {
        i64::from(self.page() - 1) * i64::from(self.limit())
    }
    /// This page of a list the query returned whole: for lists bounded per user (a
    /// teacher's classes, an assessment's attempts), where one query without a count is
    /// simpler than two and the rows are few.
    pub fn slice<T>(&self, items: Vec<T>) -> (Vec<T>, Pagination) {
        let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let offset = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        let page = items
            .into_iter()
            .skip(offset)
            .take(self.limit() as usize)
            .collect();
        (page, self.pagination(total))
    }

    pub fn pagination(&self, total: i64) -> Pagination {
        let limit = self.limit();
        Pagination {
            page: self.page(),
            limit,
            total,
            pages: (total.max(0) as u64).div_ceil(u64::from(limit)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    pub total: i64,
    pub pages: u64,
}

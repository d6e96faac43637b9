//! Wire types of the house-call catalogue and of the operators' vetting of providers, and their
//! conversions into the domain's (`doorstep_domain::housecall`, `doorstep_domain::onboarding`). Prices are
//! integer minor units with their currency; every constraint in the schemas is the constant the domain
//! checks with.

use crate::dto::{LatLngDto, MoneyDto};
use crate::error::ApiError;
use crate::routes::console::{DocumentView, reason_schema};
use crate::schema::{integer_in, string, text};
use doorstep_app::housecall_admin::{ProviderDocuments, ProviderRecord, Standing};
use doorstep_domain::housecall::catalogue::{
    DURATION_STEP_MIN, MAX_DESCRIPTION_CHARS, MAX_DURATION_MIN, MAX_PREP_MIN, MAX_PRICE_MINOR,
    MIN_DURATION_MIN, SERVICE_NAME,
};
use doorstep_domain::housecall::provider::NotBookable;
use doorstep_domain::housecall::{HcService, ServiceDraft};
use doorstep_domain::onboarding::{CalendarDate, Document, DocumentKind};
use doorstep_domain::{Currency, Money};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};

/// The pattern of a currency code.
const CURRENCY_PATTERN: &str = "^[A-Z]{3}$";

// ---- schemas, from the rules the server checks with

fn service_name() -> RefOr<Schema> {
    text(
        &SERVICE_NAME,
        "The service's name, trimmed; no control, bidirectional or zero-width characters",
    )
}

fn service_description() -> RefOr<Schema> {
    string()
        .max_length(Some(MAX_DESCRIPTION_CHARS))
        .description(Some("What the customer gets (trimmed)"))
        .into()
}

fn duration() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(MIN_DURATION_MIN))
        .maximum(Some(MAX_DURATION_MIN))
        .multiple_of(Some(DURATION_STEP_MIN))
        .description(Some("How long the appointment lasts, minutes"))
        .into()
}

fn prep() -> RefOr<Schema> {
    integer_in(
        0,
        i64::from(MAX_PREP_MIN),
        "Minutes the provider needs after the visit before leaving (packing a table); 0 if absent",
    )
}

fn price_amount() -> RefOr<Schema> {
    integer_in(1, MAX_PRICE_MINOR, "Minor units (cents)")
}

fn currency() -> RefOr<Schema> {
    string()
        .pattern(Some(CURRENCY_PATTERN))
        .description(Some("ISO 4217 code; must be the city's currency"))
        .into()
}

fn yes() -> bool {
    true
}

// ---- bodies

/// A service's price.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PriceBody {
    /// Minor units.
    #[schema(schema_with = price_amount)]
    pub amount: i64,
    /// ISO 4217 code.
    #[schema(schema_with = currency)]
    pub currency: String,
}

/// `POST /v1/admin/house-calls/services` and `PUT /v1/admin/house-calls/services/{service_id}`: the
/// whole service, and why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ServiceBody {
    /// Why (recorded in the audit log).
    #[schema(schema_with = reason_schema)]
    pub reason: String,
    /// Its name ("Swedish massage, 60 minutes").
    #[schema(schema_with = service_name)]
    pub name: String,
    /// What the customer gets.
    #[serde(default)]
    #[schema(schema_with = service_description)]
    pub description: String,
    /// How long the appointment lasts, minutes.
    #[schema(schema_with = duration)]
    pub duration_min: u32,
    /// The buffer after the visit, minutes.
    #[serde(default)]
    #[schema(schema_with = prep)]
    pub prep_min: u32,
    /// What the customer pays.
    pub price: PriceBody,
    /// Bookable (true, the default) or retired (false: it keeps its bookings and is no longer offered).
    #[serde(default = "yes")]
    pub active: bool,
}

impl ServiceBody {
    /// The draft the domain checks (422 `invalid_service` for a currency that is no code).
    pub fn draft(&self) -> Result<ServiceDraft, ApiError> {
        let currency = Currency::parse(&self.price.currency).map_err(|_| {
            ApiError::unprocessable(
                "invalid_service",
                "price: the currency is a three-letter code such as USD",
            )
        })?;
        Ok(ServiceDraft {
            name: self.name.clone(),
            description: self.description.clone(),
            duration_min: self.duration_min,
            prep_min: self.prep_min,
            price: Money::new(self.price.amount, currency),
            active: self.active,
        })
    }
}

// ---- views

/// A service of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    /// Its id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Its name.
    pub name: String,
    /// What the customer gets.
    pub description: String,
    /// How long the appointment lasts, minutes.
    pub duration_min: u32,
    /// The buffer after the visit, minutes.
    pub prep_min: u32,
    /// What the customer pays.
    pub price: MoneyDto,
    /// Whether it can be booked.
    pub active: bool,
}

impl From<&HcService> for ServiceView {
    fn from(s: &HcService) -> Self {
        ServiceView {
            id: s.id.to_string(),
            name: s.name.clone(),
            description: s.description.clone(),
            duration_min: s.duration_min,
            prep_min: s.prep_min,
            price: s.price.into(),
            active: s.active,
        }
    }
}

/// The catalogue, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    /// The services (every one for operators, the bookable ones for everyone else).
    pub services: Vec<ServiceView>,
}

fn document_views(documents: &[Document], today: CalendarDate) -> Vec<DocumentView> {
    documents
        .iter()
        .map(|d| DocumentView {
            kind: d.kind.as_str().to_owned(),
            number: d.number.clone(),
            expires_on: d.expires_on.to_string(),
            expired: d.is_expired(today),
        })
        .collect()
}

fn missing_kinds(documents: &[Document]) -> Vec<String> {
    DocumentKind::PROVIDER
        .iter()
        .filter(|k| !documents.iter().any(|d| d.kind == **k))
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// A provider as operators vet them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderAdminView {
    /// The account.
    #[schema(format = Uuid)]
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Login address.
    pub email: String,
    /// `pending` (also before they wrote a profile), `approved`, `rejected` or `suspended`.
    pub approval: String,
    /// Whether they wrote a profile (an operator decides only then).
    pub has_profile: bool,
    /// What customers read about them.
    pub bio: Option<String>,
    /// Their home base, where each working day starts and ends.
    pub home: Option<LatLngDto>,
    /// The radius they serve around it, metres.
    pub area_m: Option<u32>,
    /// The most visits they take in a day.
    pub daily_cap: Option<u32>,
    /// The ids of the services they offer.
    pub services: Vec<String>,
    /// The documents declared, by kind (`id_card`, `professional_licence`, `liability_insurance`).
    pub documents: Vec<DocumentView>,
    /// The kinds not declared yet.
    pub missing_documents: Vec<String>,
    /// Whether customers can book them today.
    pub bookable: bool,
    /// Why not: `provider_profile_missing`, `not_approved` or `document_expired`; null when bookable.
    pub not_bookable: Option<String>,
}

impl From<&ProviderRecord> for ProviderAdminView {
    fn from(r: &ProviderRecord) -> Self {
        let standing = r.standing();
        let profile = r.profile.as_ref();
        ProviderAdminView {
            user_id: r.user.id.to_string(),
            name: r.user.name.clone(),
            email: r.user.email.as_str().to_owned(),
            approval: r.approval().as_str().to_owned(),
            has_profile: profile.is_some(),
            bio: profile.map(|p| p.bio.clone()),
            home: profile.map(|p| LatLngDto {
                lat: p.home.lat(),
                lng: p.home.lng(),
            }),
            area_m: profile.map(|p| p.area_m),
            daily_cap: profile.map(|p| p.daily_cap),
            services: profile
                .map(|p| p.services.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            documents: document_views(&r.documents, r.today),
            missing_documents: missing_kinds(&r.documents),
            bookable: standing == Standing::Bookable,
            not_bookable: match standing {
                Standing::Bookable => None,
                Standing::ProfileMissing => Some("provider_profile_missing".to_owned()),
                Standing::NotBookable(NotBookable::NotApproved(_)) => {
                    Some("not_approved".to_owned())
                }
                Standing::NotBookable(NotBookable::DocumentExpired(_)) => {
                    Some("document_expired".to_owned())
                }
            },
        }
    }
}

/// Every provider account, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    /// The providers.
    pub providers: Vec<ProviderAdminView>,
}

/// A provider's own documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderDocumentsView {
    /// The documents declared, by kind.
    pub documents: Vec<DocumentView>,
    /// The kinds not declared yet.
    pub missing: Vec<String>,
}

impl From<&ProviderDocuments> for ProviderDocumentsView {
    fn from(d: &ProviderDocuments) -> Self {
        ProviderDocumentsView {
            documents: document_views(&d.documents, d.today),
            missing: missing_kinds(&d.documents),
        }
    }
}

//! Price inquiries and configuration quotas, from a fixed price list so that answers are
//! the same every time.

use cbs_model::*;

use super::{Answer, ApiFailure, Call, Filters, disk, page};
use crate::state::World;

/// Yuan per GB per month of each disk type.
fn monthly_per_gb(disk_type: &str) -> f64 {
    match disk_type {
        "CLOUD_BASIC" => 0.30,
        "CLOUD_PREMIUM" => 0.35,
        "CLOUD_BSSD" => 0.50,
        "CLOUD_SSD" => 1.00,
        "CLOUD_HSSD" => 1.20,
        "CLOUD_TSSD" => 1.50,
        _ => 0.35,
    }
}

/// Yuan per MB/s of extra throughput per month, and per backup per GB per month.
const THROUGHPUT_PER_MONTH: f64 = 0.50;
const BACKUP_PER_GB_MONTH: f64 = 0.02;
const HOURS_PER_MONTH: f64 = 720.0;

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// A price for `monthly` yuan a month: prepaid for `months` (original and discounted,
/// 17% off for a year or more), else by the hour.
fn price(monthly: f64, months: Option<u64>) -> Price {
    let mut p = Price::default();
    match months {
        Some(months) => {
            let original = round(monthly * months as f64);
            let discount = if months >= 12 { 0.83 } else { 1.0 };
            p.original_price = Some(original);
            p.discount_price = Some(round(original * discount));
            p.original_price_high = Some(format!("{original:.2}"));
            p.discount_price_high = Some(format!("{:.2}", round(original * discount)));
        }
        None => {
            let hourly = (monthly / HOURS_PER_MONTH * 1e6).round() / 1e6;
            p.unit_price = Some(hourly);
            p.unit_price_discount = Some(hourly);
            p.unit_price_high = Some(format!("{hourly:.6}"));
            p.unit_price_discount_high = Some(format!("{hourly:.6}"));
            p.charge_unit = Some("HOUR".to_owned());
        }
    }
    p
}

fn months(prepaid: Option<&DiskChargePrepaid>, charge: &DiskChargeType) -> Answer<Option<u64>> {
    match (charge, prepaid) {
        (DiskChargeType::Prepaid, Some(p)) if p.period > 0 => Ok(Some(p.period)),
        (DiskChargeType::Prepaid, _) => Err(ApiFailure::new(
            "MissingParameter",
            "A prepaid price needs DiskChargePrepaid.Period.",
        )),
        _ => Ok(None),
    }
}

pub(super) fn create_disks(
    _: &mut World,
    call: &Call<'_>,
    request: InquiryPriceCreateDisksRequest,
) -> Answer<InquiryPriceCreateDisksResponse> {
    call.region()?;
    let count = request.disk_count.unwrap_or(1).max(1) as f64;
    let monthly = (monthly_per_gb(request.disk_type.as_str()) * request.disk_size as f64
        + THROUGHPUT_PER_MONTH * request.throughput_performance.unwrap_or(0) as f64
        + BACKUP_PER_GB_MONTH
            * request.disk_backup_quota.unwrap_or(0) as f64
            * request.disk_size as f64)
        * count;
    let months = months(
        request.disk_charge_prepaid.as_ref(),
        &request.disk_charge_type,
    )?;
    let mut response = InquiryPriceCreateDisksResponse::default();
    response.disk_price = Some(price(monthly, months));
    Ok(response)
}

pub(super) fn renew_disks(
    world: &mut World,
    call: &Call<'_>,
    request: InquiryPriceRenewDisksRequest,
) -> Answer<InquiryPriceRenewDisksResponse> {
    let region = call.region()?;
    let mut monthly = 0.0;
    let mut months = 1;
    for (i, id) in request.disk_ids.iter().enumerate() {
        let record = disk(world, region, id)?;
        if record.charge_type != "PREPAID" {
            return Err(ApiFailure::new(
                "InvalidDisk.NotSupported",
                format!("The disk `{id}` is not prepaid."),
            ));
        }
        monthly += monthly_per_gb(&record.disk_type) * record.size_gb as f64;
        if let Some(prepaid) = request.disk_charge_prepaids.as_ref().and_then(|p| p.get(i)) {
            months = prepaid.period.max(1);
        }
    }
    let base = price(monthly, Some(months));
    let mut p = PrepayPrice::default();
    p.original_price = base.original_price;
    p.discount_price = base.discount_price;
    p.original_price_high = base.original_price_high;
    p.discount_price_high = base.discount_price_high;
    let mut response = InquiryPriceRenewDisksResponse::default();
    response.disk_price = Some(p);
    Ok(response)
}

pub(super) fn resize_disk(
    world: &mut World,
    call: &Call<'_>,
    request: InquiryPriceResizeDiskRequest,
) -> Answer<InquiryPriceResizeDiskResponse> {
    let region = call.region()?;
    let mut ids: Vec<String> = request.disk_ids.unwrap_or_default();
    ids.extend(request.disk_id);
    if ids.is_empty() {
        return Err(ApiFailure::new(
            "MissingParameter",
            "DiskId names the disk to resize.",
        ));
    }
    let mut monthly = 0.0;
    for id in &ids {
        let record = disk(world, region, id)?;
        super::disks::check_growth(id, record.size_gb, request.disk_size)?;
        monthly += monthly_per_gb(&record.disk_type) * (request.disk_size - record.size_gb) as f64;
    }
    let mut p = PrepayPrice::default();
    let base = price(monthly, Some(1));
    p.original_price = base.original_price;
    p.discount_price = base.discount_price;
    let mut response = InquiryPriceResizeDiskResponse::default();
    response.disk_price = Some(p);
    Ok(response)
}

pub(super) fn backup_quota(
    world: &mut World,
    call: &Call<'_>,
    request: InquirePriceModifyDiskBackupQuotaRequest,
) -> Answer<InquirePriceModifyDiskBackupQuotaResponse> {
    let record = disk(world, call.region()?, &request.disk_id)?;
    let monthly = BACKUP_PER_GB_MONTH * request.disk_backup_quota as f64 * record.size_gb as f64;
    let months = (record.charge_type == "PREPAID").then_some(1);
    let mut response = InquirePriceModifyDiskBackupQuotaResponse::default();
    response.disk_price = Some(price(monthly, months));
    Ok(response)
}

pub(super) fn extra_performance(
    world: &mut World,
    call: &Call<'_>,
    request: InquirePriceModifyDiskExtraPerformanceRequest,
) -> Answer<InquirePriceModifyDiskExtraPerformanceResponse> {
    let record = disk(world, call.region()?, &request.disk_id)?;
    let monthly = THROUGHPUT_PER_MONTH * request.throughput_performance as f64;
    let months = (record.charge_type == "PREPAID").then_some(1);
    let mut response = InquirePriceModifyDiskExtraPerformanceResponse::default();
    response.disk_price = Some(price(monthly, months));
    Ok(response)
}

pub(super) fn create_remote(
    _: &mut World,
    call: &Call<'_>,
    request: InquirePriceCreateRemoteDisksRequest,
) -> Answer<InquirePriceCreateRemoteDisksResponse> {
    call.region()?;
    if !(10..=32_000).contains(&request.disk_size) {
        return Err(ApiFailure::new(
            "InvalidParameter.DiskSizeNotMatch",
            "A remote disk holds 10 to 32000 GB.",
        ));
    }
    Ok(InquirePriceCreateRemoteDisksResponse::default())
}

pub(super) fn renew_remote(
    world: &mut World,
    call: &Call<'_>,
    request: InquirePriceRenewRemoteDisksRequest,
) -> Answer<InquirePriceRenewRemoteDisksResponse> {
    let region = call.region()?;
    if request.disk_charge_prepaid_set.len() != request.remote_disk_ids.len() {
        return Err(ApiFailure::invalid(
            "DiskChargePrepaidSet has one entry per remote disk.",
        ));
    }
    for id in &request.remote_disk_ids {
        if !world
            .remote_disks
            .get(id)
            .is_some_and(|r| r.region == region && !r.terminated)
        {
            return Err(super::not_found(
                "InvalidDiskId.NotFound",
                "remote disk",
                id,
            ));
        }
    }
    Ok(InquirePriceRenewRemoteDisksResponse::default())
}

/// The disk types, usages and sizes on offer in each zone.
pub(super) fn config_quota(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeDiskConfigQuotaRequest,
) -> Answer<DescribeDiskConfigQuotaResponse> {
    let region = call.region()?;
    if !matches!(
        request.inquiry_type.as_str(),
        "INQUIRY_CBS_CONFIG" | "INQUIRY_CVM_CONFIG"
    ) {
        return Err(ApiFailure::invalid(
            "InquiryType is INQUIRY_CBS_CONFIG or INQUIRY_CVM_CONFIG.",
        ));
    }
    let zones: Vec<String> = match &request.zones {
        Some(zones) => zones.clone(),
        None => world.zones_of(region),
    };
    let types: Vec<DiskType> = match &request.disk_types {
        Some(types) => types.clone(),
        None => ["CLOUD_PREMIUM", "CLOUD_SSD", "CLOUD_HSSD", "CLOUD_BSSD"]
            .map(DiskType::from)
            .to_vec(),
    };
    let usages: Vec<DiskUsage> = match &request.disk_usage {
        Some(usage) => vec![usage.clone()],
        None => vec![DiskUsage::DataDisk, DiskUsage::SystemDisk],
    };
    let charge = request
        .disk_charge_type
        .clone()
        .unwrap_or(DiskChargeType::PostpaidByHour);
    let mut set = Vec::new();
    for zone in &zones {
        if !world.is_zone_of(zone, region) {
            continue;
        }
        for disk_type in &types {
            for usage in &usages {
                let mut config = DiskConfig::default();
                config.available = Some(!world.is_sold_out(zone, disk_type.as_str()));
                config.zone = Some(zone.clone());
                config.disk_type = Some(disk_type.clone());
                config.disk_usage = Some(usage.clone());
                config.disk_charge_type = Some(charge.clone());
                config.min_disk_size = Some(if *usage == DiskUsage::SystemDisk {
                    20
                } else {
                    10
                });
                config.max_disk_size = Some(if *usage == DiskUsage::SystemDisk {
                    1024
                } else {
                    32_000
                });
                config.step_size = Some(10);
                config.extra_performance_range = Some(Vec::new());
                config.price = Some(price(monthly_per_gb(disk_type.as_str()) * 100.0, None));
                set.push(config);
            }
        }
    }
    let mut response = DescribeDiskConfigQuotaResponse::default();
    response.disk_config_set = Some(set);
    Ok(response)
}

/// Dedicated storage pools (CDC): the emulator has none.
pub(super) fn storage_pools(
    _: &mut World,
    call: &Call<'_>,
    request: DescribeDiskStoragePoolRequest,
) -> Answer<DescribeDiskStoragePoolResponse> {
    call.region()?;
    Filters::new(
        request.filters.as_deref(),
        &["cdc-id", "zone", "cage-id", "disk-type"],
    )?;
    let (total, pools) = page(Vec::<Cdc>::new(), request.offset, request.limit)?;
    let mut response = DescribeDiskStoragePoolResponse::default();
    response.total_count = Some(total);
    response.disk_storage_pool_set = Some(pools.clone());
    response.cdc_set = Some(pools);
    Ok(response)
}

/// Disk statistics of a dedicated cluster: the emulator's clusters hold no disks.
pub(super) fn cluster_statistics(
    _: &mut World,
    call: &Call<'_>,
    request: DescribeDedicatedClusterDiskStatisticsRequest,
) -> Answer<DescribeDedicatedClusterDiskStatisticsResponse> {
    call.region()?;
    if !request.dedicated_cluster_id.starts_with("cluster-") {
        return Err(ApiFailure::invalid(format!(
            "`{}` is not a dedicated cluster id.",
            request.dedicated_cluster_id
        )));
    }
    let mut response = DescribeDedicatedClusterDiskStatisticsResponse::default();
    response.dedicated_cluster_disk_statistic_set = Some(Vec::new());
    Ok(response)
}
